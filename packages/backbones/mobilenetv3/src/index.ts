export { InvertedResidual, SqueezeExcitation, convNormActivation } from './blocks.js';
export {
  type BlockSetting,
  type MobileNetV3Config,
  type ResolvedMobileNetV3Config,
  largeSettings,
  makeDivisible,
  mobilenetV3ConfigSchema,
} from './config.js';
export { MobileNetV3, MobileNetV3Features } from './mobilenetv3.js';
