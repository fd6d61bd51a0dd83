export { type ConvHeadOptions, convHead } from './head.js';
export { type PspBackbone, type PspFeatures, type PspHeadConfig, PSPNet } from './pspnet.js';
export { PyramidPooling, type PyramidPoolingOptions } from './pyramid-pooling.js';
export {
  type PspnetConfig,
  type PspnetDepth,
  type ResolvedPspnetConfig,
  pspnetConfigSchema,
} from './config.js';
export { pspnetParameterGroup, pspnetVocPreset, registerPspnetPresets } from './recipe.js';
