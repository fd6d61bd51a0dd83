import { registerFcnModels } from './register.js';
import { registerTorchvisionFcnModels } from './torchvision/index.js';

export { type FcnConfig, type FcnVariant, type ResolvedFcnConfig, fcnConfigSchema } from './config.js';
export { type CoordMap, cropOffset, throughConv, throughDeconv } from './coord-map.js';
export { FCN } from './fcn.js';
export { FCN_PRESETS } from './presets.js';
export { fcnParameterGroup, registerFcnModels } from './register.js';
export { type StageInitReport, initFromCoarser } from './stages.js';
export { FCN_CAFFE_NORMALIZATION, fcnCaffeMap, fcnPytorchMap, fcnWeightMaps } from './weight-maps.js';
export * from './torchvision/index.js';

// Importing the package makes fcn32s/fcn16s/fcn8s available to the CLI, the engine and the web demo.
registerFcnModels();
registerTorchvisionFcnModels();
