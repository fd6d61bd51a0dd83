import { registerPspnetModels } from './register.js';

export {
  type PspnetConfig,
  type PspnetDepth,
  type ResolvedPspnetConfig,
  pspnetConfigSchema,
} from './config.js';
export { createPspnet, pspnetWeightMap } from './create.js';
export { type ConvHeadOptions, convHead } from './head.js';
export { type PspBackbone, type PspFeatures, type PspHeadConfig, PSPNet } from './pspnet.js';
export { PyramidPooling, type PyramidPoolingOptions } from './pyramid-pooling.js';
export { pspnetParameterGroup, pspnetVocPreset, registerPspnetPresets } from './recipe.js';
export { registerPspnetModels } from './register.js';

// Importing the package makes pspnet-resnet50 and pspnet-resnet101 available to the CLI, the
// engine and the web page.
registerPspnetModels();
