import { type TrainPreset, registerTrainPreset } from '@semseg/core';

const SOURCE =
  'Noh, Hong & Han, "Learning Deconvolution Network for Semantic Segmentation", ICCV 2015, ' +
  '§3.3 (two-stage training) and §4.1 (SGD, lr 0.01, momentum 0.9, weight decay 5e-4, batches of 64)';

const COMMON = {
  model: 'deconvnet',
  modelConfig: {},
  optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
  // The paper lowers the rate by 10x by hand when validation accuracy stalls; no fixed schedule is given.
  schedule: { policy: 'fixed', baseLr: 0.01 },
  lossReduction: 'mean',
  batchSize: 64,
  crop: [224, 224],
  scaleRange: [1, 1],
  flipProbability: 0.5,
  trainSplit: 'train_aug',
} as const satisfies Partial<TrainPreset>;

/** Stage 1: easy examples, object-centred crops (250 px boxes, random 224 crops, flips). */
export const DECONVNET_STAGE1: TrainPreset = {
  ...COMMON,
  name: 'deconvnet-voc-stage1',
  source: SOURCE,
  notes:
    'First stage: each object of SegmentationObject, its box enlarged 1.2x, resized to 250x250 and cropped ' +
    'at random to 224x224; about 0.2M examples (3,125 steps of 64). Batch norm uses batch statistics.',
  steps: 3125,
  sampler: 'object-centred',
  optimizer: { ...COMMON.optimizer },
  schedule: { ...COMMON.schedule },
  crop: [224, 224],
  scaleRange: [1, 1],
};

/** Stage 2: whole images, starting from stage 1's weights. */
export const DECONVNET_STAGE2: TrainPreset = {
  ...COMMON,
  name: 'deconvnet-voc-stage2',
  source: SOURCE,
  notes:
    'Second stage: harder examples (the paper crops object proposals; here whole images, randomly cropped ' +
    'to 224x224), about 2.7M examples (42,188 steps of 64), from the stage-1 run (--init-from).',
  steps: 42188,
  sampler: 'random-crop',
  initFrom: 'deconvnet-voc-stage1',
  optimizer: { ...COMMON.optimizer },
  schedule: { ...COMMON.schedule },
  crop: [224, 224],
  scaleRange: [1, 1],
};

export function registerDeconvNetPresets(): void {
  registerTrainPreset(DECONVNET_STAGE1);
  registerTrainPreset(DECONVNET_STAGE2);
}
