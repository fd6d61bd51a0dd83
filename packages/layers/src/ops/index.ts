// @semseg/layers/ops: the building blocks under the layers' gradients and resampling, for code
// that composes its own ops (custom layers, tests against references). A model author needs none
// of these: the layers and the ops in the main entry (conv2d, resize, maxPool2dWithSwitches, ...)
// are the public face.
export {
  type Conv2dOptions,
  type FilterGradientMethod,
  type ForwardMethod,
  type InputGradientMethod,
  type ValidConv,
  convFilterGradient,
  convInputGradient,
  filterGradientRoute,
  forwardConv,
} from './conv.js';
export { batchNormTraining } from './batch-norm.js';
export {
  convFilterGradientByWinograd,
  convForwardByWinograd,
  convInputGradientByWinograd,
  prefersWinograd,
  prefersWinogradFilterGradient,
  winogradApplies,
} from './conv-winograd.js';
export { rotate180 } from './flip.js';
export { depthToSpace, spaceToDepth } from './geometry.js';
export { resolveConvPadding } from './padding.js';
export { bedOfNails, interpolationMatrix, nearestByFactor } from './resize.js';
