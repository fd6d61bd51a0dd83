export { type ConvGeometry, conv2d, convFilterGradient, convInputGradient } from './ops/conv.js';
export { type ConvPadding, resolveConvPadding } from './ops/padding.js';
export { type Padding4, type Pair, type PairLike, depthToSpace, padOrCrop, spaceToDepth } from './ops/geometry.js';
export { rotate180 } from './ops/flip.js';
