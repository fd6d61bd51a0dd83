// @semseg/layers: the layers and ops a model is built from. The pieces under their gradients and
// resampling (filter/input gradients, flips, interpolation matrices) are in '@semseg/layers/ops'.
export {
  type Fans,
  type Initializer,
  type KaimingOptions,
  bilinear,
  bilinearKernel,
  constant,
  heNormal,
  heUniform,
  normal,
  torchDefault,
  uniform,
  xavierNormal,
  xavierUniform,
  zeros,
} from './init.js';
export { Hardsigmoid, Hardswish, Sigmoid, hardsigmoid, hardswish } from './layers/activations.js';
export { AdaptiveAvgPool2d, adaptiveAvgPool2d, adaptivePoolMatrix } from './layers/adaptive-avg-pool2d.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './layers/batch-norm2d.js';
export { type ClassifierOptions, Dropout2d, ReLU, Sequential, classifier } from './layers/basic.js';
export { Conv2d, type Conv2dOptions } from './layers/conv2d.js';
export { ConvTranspose2d, type ConvTranspose2dOptions } from './layers/conv-transpose2d.js';
export { DepthwiseConv2d, type DepthwiseConv2dOptions } from './layers/depthwise-conv2d.js';
export { Dropout } from './layers/dropout.js';
export { Layer } from './layers/layer.js';
export { MaxPool2d, type MaxPool2dOptions, MaxUnpool2d, type MaxUnpool2dOptions } from './layers/pooling.js';
export { TorchBatchNorm2d, type TorchBatchNorm2dOptions } from './layers/torch-batch-norm2d.js';
export {
  ResizeConv2d,
  type ResizeConv2dOptions,
  Upsample,
  type UpsampleMode,
  type UpsampleOptions,
} from './layers/upsample.js';
export { type CrossEntropyOptions, type Labels, softmaxCrossEntropy } from './loss/cross-entropy.js';
export { l2WeightDecay } from './loss/weight-decay.js';
export { type ConvGeometry, conv2d } from './ops/conv.js';
export {
  type ConvTransposeGeometry,
  convTranspose2d,
  convTransposeOutputLength,
} from './ops/conv-transpose.js';
export { type Padding4, type Pair, type PairLike, padOrCrop } from './ops/geometry.js';
export {
  type PoolGeometry,
  type PooledWithSwitches,
  maxPool2d,
  maxPool2dWithSwitches,
  poolOutputLength,
} from './ops/max-pool.js';
export { type UnpoolGeometry, maxUnpool2d, unpoolDefaultLength } from './ops/max-unpool.js';
export type { ConvPadding } from './ops/padding.js';
export { type InterpolationMode, type ResizeOptions, resize } from './ops/resize.js';
export { type TorchNameMapOptions, torchNameMap } from './torch-names.js';
