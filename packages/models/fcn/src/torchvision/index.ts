// torchvision's FCN on ResNet (fcn_resnet50, fcn_resnet101), and what its other segmentation models share.
export {
  AUX_LOSS_WEIGHT,
  FCNHead,
  type HeadLogits,
  type ProbeOptions,
  RESNET_PROBE_WIDTH,
  TorchvisionSegmentationModel,
  probeTorchNameMap,
  upsampleTo,
} from './base.js';
export {
  type ResolvedTorchvisionResNetSegConfig,
  type TorchvisionResNetSegConfig,
  torchvisionResNetSegConfigSchema,
} from './config.js';
export { FcnResNet, parseResNetSegConfig, segmentationResNet } from './fcn-resnet.js';
export { ignoreAuxWhenAbsent, registerTorchvisionFcnModels, resnetBackbonePretrained } from './register.js';
export {
  FCN_RESNET_PRESETS,
  type TorchvisionRecipeOptions,
  torchvisionParameterGroup,
  torchvisionPreset,
} from './recipe.js';
