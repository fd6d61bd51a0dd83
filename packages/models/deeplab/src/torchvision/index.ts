// torchvision's DeepLabV3 and LR-ASPP, and DeepLab v3+ on torchvision's ResNet.
export { ASPP, ASPPPooling, ASPP_RATES_OS8, ASPP_RATES_OS16, DeepLabHead, ModuleList } from './aspp.js';
export {
  type DeepLabV3PlusConfig,
  type LrasppConfig,
  type TorchvisionMobileNetSegConfig,
  deeplabV3PlusConfigSchema,
  lrasppConfigSchema,
  torchvisionMobileNetSegConfigSchema,
} from './config.js';
export { DeepLabV3MobileNet, DeepLabV3ResNet } from './deeplabv3.js';
export { DECODER_LOW_LEVEL_CHANNELS, DeepLabV3PlusHead, DeepLabV3PlusResNet } from './deeplabv3plus.js';
export { LRASPPHead, LRASPPMobileNet } from './lraspp.js';
export {
  DEEPLAB_V3PLUS_PRESETS,
  TORCHVISION_DEEPLAB_PRESETS,
  deeplabV3PlusPreset,
  registerTorchvisionDeepLabPresets,
} from './presets.js';
export { registerTorchvisionDeepLabModels } from './register.js';
