import { type TrainPreset, registerTrainPreset } from '@semseg/core';
import { ASPP_S_RATES } from './config.js';

const DEEPLAB_SGD = { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 } as const;

/** The papers' recipes (classifier x10/x20 and biases x2 come from the models' parameter groups). */
export const DEEPLAB_PRESETS: TrainPreset[] = [
  {
    name: 'deeplab-v1-voc',
    model: 'deeplab-v1',
    modelConfig: { numClasses: 21 },
    source:
      'Chen et al. 2015 (ICLR) sec. 4 and the released DeepLab-LargeFOV solver.prototxt / train.prototxt (deeplab-public)',
    notes:
      'SGD, base_lr 1e-3 (x10 weights / x20 biases for fc8, x2 biases elsewhere), lr x0.1 every 2000 iterations, 6000 iterations, momentum 0.9, weight decay 5e-4, mini-batch 20 (the paper; the prototxt runs batches of 10), 321x321 crops with random mirroring and no scaling, loss averaged over labelled pixels (Caffe SoftmaxWithLoss) on labels shrunk x8; SBD train_aug; ImageNet VGG16 init with fc6/fc7 decimated (--pretrained)',
    optimizer: DEEPLAB_SGD,
    schedule: { policy: 'step', baseLr: 1e-3, stepSize: 2000, gamma: 0.1 },
    lossReduction: 'mean',
    steps: 6000,
    batchSize: 20,
    crop: [321, 321],
    scaleRange: [1, 1],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  },
  {
    name: 'deeplab-v2-vgg16-voc',
    model: 'deeplab-v2',
    modelConfig: { numClasses: 21, backbone: 'vgg16' },
    source:
      'Chen et al. 2017 (TPAMI) sec. 4.1 and Table 1 (poly, batch 10, 20K iterations), DeepLabv2_VGG16 release',
    notes:
      'ASPP-L (rates 6, 12, 18, 24); SGD, base_lr 1e-3 with the poly policy (power 0.9), 20,000 iterations, batch 10, momentum 0.9, weight decay 5e-4, 321x321 crops, random mirroring (random scaling is the ResNet-101 recipe), loss on labels shrunk x8; SBD train_aug; ImageNet VGG16 init, decimated fc6/fc7 in every branch',
    optimizer: DEEPLAB_SGD,
    schedule: { policy: 'poly', baseLr: 1e-3, power: 0.9 },
    lossReduction: 'mean',
    steps: 20_000,
    batchSize: 10,
    crop: [321, 321],
    scaleRange: [1, 1],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  },
  {
    name: 'deeplab-v2-vgg16-aspp-s-voc',
    model: 'deeplab-v2',
    modelConfig: { numClasses: 21, backbone: 'vgg16', rates: [...ASPP_S_RATES] },
    source: 'Chen et al. 2017 (TPAMI) sec. 4.1, Table 3 (DeepLab-ASPP-S)',
    notes: 'as deeplab-v2-vgg16-voc with the small rates 2, 4, 8, 12',
    optimizer: DEEPLAB_SGD,
    schedule: { policy: 'poly', baseLr: 1e-3, power: 0.9 },
    lossReduction: 'mean',
    steps: 20_000,
    batchSize: 10,
    crop: [321, 321],
    scaleRange: [1, 1],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  },
  {
    name: 'deeplab-v2-resnet101-voc',
    model: 'deeplab-v2',
    modelConfig: { numClasses: 21, backbone: 'resnet101', scales: [1, 0.75, 0.5] },
    source:
      'Chen et al. 2017 (TPAMI) sec. 4.1 (ResNet-101: MSC, random scaling) and the released DeepLabv2 ResNet-101 solver (base_lr 2.5e-4, poly 0.9, iter_size 10, 20K iterations)',
    notes:
      'ASPP-L on a dilated ResNet-101 (output stride 8, frozen batch norm) with multi-scale inputs 1, 0.75, 0.5 and the loss on every scale and the max-fused output; SGD, base_lr 2.5e-4 with poly 0.9, 20,000 iterations, batch 10, momentum 0.9, weight decay 5e-4, 321x321 crops, random scaling 0.5-1.5 and mirroring; SBD train_aug; torchvision ImageNet ResNet-101 init (--pretrained; the release starts from its own MSRA Caffe ResNet-101, optionally COCO-pretrained)',
    optimizer: DEEPLAB_SGD,
    schedule: { policy: 'poly', baseLr: 2.5e-4, power: 0.9 },
    lossReduction: 'mean',
    steps: 20_000,
    batchSize: 10,
    crop: [321, 321],
    scaleRange: [0.5, 1.5],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  },
  {
    name: 'dilatednet-frontend-voc',
    model: 'dilatednet',
    modelConfig: { numClasses: 21, context: 'none' },
    source: 'Yu & Koltun 2016 sec. 4; fyu/dilation docs/training.md (front end) and train.py make_solver',
    notes:
      'front-end alone: SGD, lr 1e-4, momentum 0.9, batch 14, 500x500 crops (the release crops 500 from the reflected image, so 128x128 of it is labelled; here the 500x500 crop is the image and the model adds the 186-pixel margin), lr x0.1 every 100,000 iterations, 400,000 iterations as train.py (the paper trains VOC+COCO then VOC), weight decay 5e-4, labels every 8 pixels; ImageNet VGG16 init (--pretrained)',
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    schedule: { policy: 'step', baseLr: 1e-4, stepSize: 100_000, gamma: 0.1 },
    lossReduction: 'mean',
    steps: 400_000,
    batchSize: 14,
    crop: [500, 500],
    scaleRange: [1, 1],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
  },
  {
    name: 'dilatednet-context-voc',
    model: 'dilatednet',
    modelConfig: { numClasses: 21, context: 'large', trainFrontEnd: false },
    source: 'Yu & Koltun 2016 sec. 3 and 5; fyu/dilation docs/training.md (context module)',
    notes:
      'second stage: the identity-initialised large context module on a trained, frozen front-end (the release trains it on stored 66x66 front-end outputs): SGD, lr 1e-3, momentum 0.9, batch 60, step solver of train.py',
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    schedule: { policy: 'step', baseLr: 1e-3, stepSize: 100_000, gamma: 0.1 },
    lossReduction: 'mean',
    steps: 400_000,
    batchSize: 60,
    crop: [528, 528],
    scaleRange: [1, 1],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
    initFrom: 'dilatednet-frontend-voc',
  },
  {
    name: 'dilatednet-joint-voc',
    model: 'dilatednet',
    modelConfig: { numClasses: 21, context: 'large' },
    source: 'Yu & Koltun 2016 sec. 5; fyu/dilation docs/training.md (joint training)',
    notes:
      'third stage: front-end and context module together, SGD, lr 1e-5, momentum 0.9, batch 14, 500x500 crops',
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    schedule: { policy: 'step', baseLr: 1e-5, stepSize: 100_000, gamma: 0.1 },
    lossReduction: 'mean',
    steps: 400_000,
    batchSize: 14,
    crop: [500, 500],
    scaleRange: [1, 1],
    flipProbability: 0.5,
    trainSplit: 'train_aug',
    initFrom: 'dilatednet-context-voc',
  },
];

export function registerDeepLabPresets(): void {
  for (const preset of DEEPLAB_PRESETS) registerTrainPreset(preset);
}
