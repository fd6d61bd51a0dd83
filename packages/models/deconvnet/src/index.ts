import { registerDeconvNetModels } from './register.js';

export {
  type DeconvNetConfig,
  type ResolvedDeconvNetConfig,
  type ResolvedSegNetConfig,
  type SegNetConfig,
  deconvnetConfigSchema,
  segnetConfigSchema,
} from './config.js';
export { DeconvNet, type EncoderDecoderTrace } from './deconvnet.js';
export { DECONVNET_STAGE1, DECONVNET_STAGE2 } from './presets.js';
export { registerDeconvNetModels } from './register.js';
export { SegNet, caffeLrn } from './segnet.js';
export { seedDeconvNetMap } from './weight-maps.js';

// Importing the package makes deconvnet and segnet (and the DeconvNet presets) available everywhere.
registerDeconvNetModels();
