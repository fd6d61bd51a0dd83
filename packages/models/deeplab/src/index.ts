import { registerDeepLabModels } from './register.js';
import { registerTorchvisionDeepLabModels } from './torchvision/index.js';

export {
  DEEPLAB_NORMALIZATION,
  alignedLength,
  caffeAveragePool3x3,
  interp,
  shrinkLabels,
} from './caffe-ops.js';
export { deeplabParameterGroup, deeplabV1WeightMaps, deeplabV2WeightMaps } from './caffe-names.js';
export {
  ASPP_L_RATES,
  ASPP_S_RATES,
  type ContextWrapperConfig,
  type DeepLabV1Config,
  type DeepLabV2Config,
  type DilatedNetConfig,
  contextWrapperConfigSchema,
  deeplabV1ConfigSchema,
  deeplabV2ConfigSchema,
  dilatedNetConfigSchema,
} from './config.js';
export { ContextModule, identityKernel } from './context.js';
export { ContextOnModel } from './context-wrapper.js';
export { DeepLabV1 } from './deeplab-v1.js';
export { DeepLabV2 } from './deeplab-v2.js';
export { DilatedNet } from './dilatednet.js';
export { DEEPLAB_PRESETS } from './presets.js';
export { type MultiScaleScores, StrideEightSegmenter, scaledLength } from './segmenter.js';
export { registerDeepLabModels } from './register.js';
export * from './torchvision/index.js';

// Importing the package registers deeplab-v1, deeplab-v2, dilatednet and dilated-context.
registerDeepLabModels();
registerTorchvisionDeepLabModels();
