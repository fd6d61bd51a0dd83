import { type ParameterGroup, type TrainPreset, registerTrainPreset } from '@semseg/core';
import type { PspnetDepth } from './config.js';

/**
 * hszhao/semseg `tool/train.py`: the pretrained ResNet (`layer0`..`layer4`) at the base learning
 * rate, the new layers (`ppm`, `cls`, `aux`) at 10x; one weight decay for every parameter,
 * biases and batch norm included (PyTorch SGD's `weight_decay` on all groups).
 */
export function pspnetParameterGroup(name: string): ParameterGroup {
  return { lrMultiplier: name.startsWith('backbone.') ? 1 : 10, decayMultiplier: 1 };
}

/** SBD's `train_aug` (10,582 images), batch 16, 50 epochs with the last partial batch dropped. */
const TRAIN_AUG_IMAGES = 10_582;
const BATCH = 16;
const EPOCHS = 50;

/** The reference's VOC 2012 recipe for PSPNet-ResNet50/101. */
export function pspnetVocPreset(depth: PspnetDepth): TrainPreset {
  return {
    name: `pspnet-resnet${depth}-voc`,
    model: `pspnet-resnet${depth}`,
    modelConfig: { numClasses: 21 },
    source: `hszhao/semseg config/voc2012/voc2012_pspnet${depth}.yaml and tool/train.py; Zhao et al. 2017 (CVPR), section 4.1 (implementation details: lr 0.01, poly 0.9, momentum 0.9, weight decay 1e-4, batch 16, 30K VOC iterations) and 4.2 (auxiliary loss weight 0.4)`,
    notes:
      'SGD momentum 0.9, weight decay 1e-4 on every parameter, poly lr 0.01 power 0.9, new layers (ppm, cls, aux) at lr x10, ' +
      `batch ${BATCH}, crop 473x473, random scale 0.5-2 and mirror, SBD train_aug, ${EPOCHS} epochs ` +
      `(${EPOCHS} x floor(${TRAIN_AUG_IMAGES} / ${BATCH}) iterations; the paper says 30K), auxiliary loss 0.4 on layer3, ` +
      'ImageNet ResNet initialisation (--pretrained). Not reproduced: the reference also rotates by -10..10 degrees and ' +
      'blurs at random, and synchronises batch norm across GPUs',
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
    schedule: { policy: 'poly', baseLr: 0.01, power: 0.9 },
    lossReduction: 'mean',
    steps: EPOCHS * Math.floor(TRAIN_AUG_IMAGES / BATCH),
    batchSize: BATCH,
    crop: [473, 473],
    scaleRange: [0.5, 2],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  };
}

export function registerPspnetPresets(): void {
  for (const depth of [50, 101] as const) registerTrainPreset(pspnetVocPreset(depth));
}
