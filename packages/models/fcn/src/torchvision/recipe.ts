// torchvision's reference training recipe for its segmentation models (references/segmentation:
// train.py and README.md), shared by fcn-resnet50/101 here and the DeepLabV3 / LR-ASPP models of
// @semseg/deeplab.
import type { ParameterGroup, TrainPreset } from '@semseg/core';

/**
 * train.py's optimiser groups: backbone and classifier at the base learning rate, the auxiliary
 * classifier at 10x (`{"params": aux_classifier..., "lr": args.lr * 10}`); PyTorch SGD's
 * `weight_decay` on every parameter, batch norm and biases included.
 */
export function torchvisionParameterGroup(name: string): ParameterGroup {
  return { lrMultiplier: name.startsWith('aux_classifier.') ? 10 : 1, decayMultiplier: 1 };
}

/** SBD's train_aug (train.py's `voc_aug` dataset), the split our VOC reader trains on. */
const TRAIN_AUG_IMAGES = 10_582;
/** README: `--nproc_per_node=8 ... -b 4`, batch 4 on each of 8 GPUs (SyncBatchNorm over all 32). */
const GLOBAL_BATCH = 32;
const EPOCHS = 30;

export interface TorchvisionRecipeOptions {
  /** The registry name (fcn-resnet50, deeplabv3-mobilenetv3-large, ...). */
  model: string;
  /** torchvision's builder name, as its README lists the command. */
  torchvisionName: string;
  /** README's --lr (0.02 for the ResNet models; the MobileNetV3 ones pass none: train.py's 0.01). */
  lr: number;
  /** README's --wd (train.py's 1e-4; 1e-6 for the MobileNetV3 models). */
  weightDecay: number;
  /** README's --aux-loss. */
  auxLoss: boolean;
}

/** One model's torchvision recipe as a preset named `<model>-torchvision`. */
export function torchvisionPreset(o: TorchvisionRecipeOptions): TrainPreset {
  const steps = EPOCHS * Math.floor(TRAIN_AUG_IMAGES / GLOBAL_BATCH);
  return {
    name: `${o.model}-torchvision`,
    model: o.model,
    modelConfig: o.auxLoss ? { numClasses: 21, auxLoss: true } : { numClasses: 21 },
    source:
      `pytorch/vision references/segmentation/README.md (${o.torchvisionName}: ` +
      `-b 4 on 8 GPUs${o.lr === 0.01 ? '' : `, --lr ${o.lr}`}${o.auxLoss ? ', --aux-loss' : ''}` +
      `${o.weightDecay === 1e-4 ? '' : `, --wd ${o.weightDecay}`}) and train.py (defaults: SGD momentum 0.9, ` +
      'lr 0.01, weight decay 1e-4, 30 epochs, poly lr power 0.9 per iteration; get_transform: ' +
      'RandomResize 0.5-2.0 x 520, flip 0.5, RandomCrop 480)',
    notes:
      `SGD momentum 0.9, lr ${o.lr} with the poly policy (power 0.9, stepped every iteration), weight decay ` +
      `${o.weightDecay} on every parameter (batch norm and biases too)` +
      (o.auxLoss ? ', auxiliary classifier on layer3/C2 at lr x10 and loss main + 0.5 x aux' : '') +
      `; batch ${GLOBAL_BATCH} (4 per GPU on 8 GPUs, SyncBatchNorm), 480x480 crops padded with ignore, ` +
      'random resize 0.5-2.0 and horizontal flip 0.5, loss averaged over labelled pixels, ImageNet backbone ' +
      `(--pretrained). torchvision trains ${EPOCHS} epochs on COCO train2017's images of the 20 VOC ` +
      `categories, which our reader cannot read: this preset runs ${EPOCHS} epochs of SBD train_aug ` +
      `(train.py's voc_aug, ${EPOCHS} x floor(${TRAIN_AUG_IMAGES} / ${GLOBAL_BATCH}) = ${steps} iterations). ` +
      "Differences: torchvision's RandomResize sets the shorter side to 260-1040 px, here the scale is " +
      "relative to the image; the engine's SGD puts the learning rate inside the momentum (Caffe's form, " +
      "PyTorch's outside: the same steps at a fixed lr, slightly different while poly decays it)",
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: o.weightDecay },
    schedule: { policy: 'poly', baseLr: o.lr, power: 0.9 },
    lossReduction: 'mean',
    steps,
    batchSize: GLOBAL_BATCH,
    crop: [480, 480],
    scaleRange: [0.5, 2],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  };
}

/** fcn_resnet50 and fcn_resnet101 as the README trains them. */
export const FCN_RESNET_PRESETS: readonly TrainPreset[] = ([50, 101] as const).map((depth) =>
  torchvisionPreset({
    model: `fcn-resnet${depth}`,
    torchvisionName: `fcn_resnet${depth}`,
    lr: 0.02,
    weightDecay: 1e-4,
    auxLoss: true,
  }),
);
