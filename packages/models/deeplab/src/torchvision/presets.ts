import { type TrainPreset, registerTrainPreset } from '@semseg/core';
import { torchvisionPreset } from '@semseg/fcn';

/** torchvision's README commands for its DeepLabV3 and LR-ASPP models (references/segmentation). */
export const TORCHVISION_DEEPLAB_PRESETS: readonly TrainPreset[] = [
  ...([50, 101] as const).map((depth) =>
    torchvisionPreset({
      model: `deeplabv3-resnet${depth}`,
      torchvisionName: `deeplabv3_resnet${depth}`,
      lr: 0.02,
      weightDecay: 1e-4,
      auxLoss: true,
    }),
  ),
  // No --lr in the README for the MobileNetV3 models: train.py's default 0.01.
  torchvisionPreset({
    model: 'deeplabv3-mobilenetv3-large',
    torchvisionName: 'deeplabv3_mobilenet_v3_large',
    lr: 0.01,
    weightDecay: 1e-6,
    auxLoss: true,
  }),
  torchvisionPreset({
    model: 'lraspp-mobilenetv3-large',
    torchvisionName: 'lraspp_mobilenet_v3_large',
    lr: 0.01,
    weightDecay: 1e-6,
    auxLoss: false,
  }),
];

/** SBD's train_aug. */
const TRAIN_AUG = 'train_aug';

/** DeepLab v3+ on ResNet-50/101 as the paper trains its VOC models (the v3 protocol it follows). */
export function deeplabV3PlusPreset(depth: 50 | 101): TrainPreset {
  return {
    name: `deeplabv3plus-resnet${depth}-voc`,
    model: `deeplabv3plus-resnet${depth}`,
    modelConfig: { numClasses: 21, outputStride: 16 },
    source:
      'Chen et al. 2018 (DeepLab v3+, ECCV) sec. 4, following Chen et al. 2017 (DeepLab v3) sec. 4.1-4.3; ' +
      'tensorflow/models research/deeplab train.py (base_learning_rate 0.007 on train_aug, poly power 0.9, ' +
      '30,000 steps, momentum 0.9, weight_decay 1e-4 for ResNet variants, crop 513, scale 0.5-2.0)',
    notes:
      'output stride 16 (ASPP rates 6, 12, 18), decoder on layer1; SGD momentum 0.9, lr 0.007 with poly 0.9, ' +
      '30,000 iterations, batch 16 (batch norm trained), 513x513 crops, random scale 0.5-2.0 and left-right ' +
      'flip, loss averaged over labelled pixels, weight decay 1e-4, SBD train_aug; ImageNet ResNet ' +
      "(--pretrained; the paper's best models start from ImageNet and JFT / COCO pretraining and " +
      'fine-tune at output stride 8 on trainval, not reproduced here). Not reproduced: the release scales ' +
      'in steps of 0.25 and applies decay to conv weights only',
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
    schedule: { policy: 'poly', baseLr: 0.007, power: 0.9 },
    lossReduction: 'mean',
    steps: 30_000,
    batchSize: 16,
    crop: [513, 513],
    scaleRange: [0.5, 2],
    flipProbability: 0.5,
    trainSplit: TRAIN_AUG,
  };
}

export const DEEPLAB_V3PLUS_PRESETS: readonly TrainPreset[] = [
  deeplabV3PlusPreset(50),
  deeplabV3PlusPreset(101),
];

export function registerTorchvisionDeepLabPresets(): void {
  for (const preset of [...TORCHVISION_DEEPLAB_PRESETS, ...DEEPLAB_V3PLUS_PRESETS])
    registerTrainPreset(preset);
}
