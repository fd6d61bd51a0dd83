export { BasicBlock, type Block, Bottleneck } from './blocks.js';
export {
  RESNET_LAYERS,
  type ResNetConfig,
  type ResNetDepth,
  type ResolvedResNetConfig,
  dilationForOutputStride,
  resnetConfigSchema,
} from './config.js';
export { ResNet, type ResNetFeatures, type ResNetStage } from './resnet.js';
export { type LoadTorchWeightsOptions, loadTorchWeights } from './load.js';
export { type ResNetWeightMapOptions, resnetWeightMap } from './weights.js';
