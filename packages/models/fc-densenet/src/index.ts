import { registerFcDenseNetModels } from './register.js';

export { BnReluConv, DenseBlock, TransitionDown, TransitionUp } from './blocks.js';
export {
  type FcDenseNetConfig,
  type FcDenseNetVariant,
  type ResolvedFcDenseNetConfig,
  VARIANTS,
  fcDenseNetConfigSchema,
} from './config.js';
export { FcDenseNet } from './fc-densenet.js';
export { fcDenseNetPresets, registerFcDenseNetPresets } from './presets.js';
export { registerFcDenseNetModels } from './register.js';

// Importing the package makes fc-densenet56/67/103 and their presets available to the apps.
registerFcDenseNetModels();
