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
export { BatchNorm2d, type BatchNorm2dOptions } from './layers/batch-norm2d.js';
export { type ClassifierOptions, Dropout2d, ReLU, Sequential, classifier } from './layers/basic.js';
export { Conv2d, type Conv2dOptions } from './layers/conv2d.js';
export { ConvTranspose2d, type ConvTranspose2dOptions } from './layers/conv-transpose2d.js';
export { Layer } from './layers/layer.js';
export { MaxPool2d, type MaxPool2dOptions, MaxUnpool2d, type MaxUnpool2dOptions } from './layers/pooling.js';
export {
  ResizeConv2d,
  type ResizeConv2dOptions,
  Upsample,
  type UpsampleMode,
  type UpsampleOptions,
} from './layers/upsample.js';
export { type CrossEntropyOptions, type Labels, softmaxCrossEntropy } from './loss/cross-entropy.js';
export { l2WeightDecay } from './loss/weight-decay.js';
export {
  type ConvGeometry,
  type FilterGradientMethod,
  conv2d,
  convFilterGradient,
  convInputGradient,
  forwardConv,
} from './ops/conv.js';
export {
  type ConvTransposeGeometry,
  convTranspose2d,
  convTransposeOutputLength,
} from './ops/conv-transpose.js';
export { rotate180 } from './ops/flip.js';
export {
  type Padding4,
  type Pair,
  type PairLike,
  depthToSpace,
  padOrCrop,
  spaceToDepth,
} from './ops/geometry.js';
export {
  type PoolGeometry,
  type PooledWithSwitches,
  maxPool2d,
  maxPool2dWithSwitches,
  poolOutputLength,
} from './ops/max-pool.js';
export { type UnpoolGeometry, maxUnpool2d, unpoolDefaultLength } from './ops/max-unpool.js';
export { type ConvPadding, resolveConvPadding } from './ops/padding.js';
export {
  type InterpolationMode,
  type ResizeOptions,
  bedOfNails,
  interpolationMatrix,
  nearestByFactor,
  resize,
} from './ops/resize.js';
