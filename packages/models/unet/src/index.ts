import { registerUNet } from './register.js';

export { type ResolvedUNetConfig, type UNetConfig, unetConfigSchema } from './config.js';
export { distanceTransform } from './distance.js';
export { type UNetGeometry, unetGeometry } from './geometry.js';
export { pixelWeightedCrossEntropy } from './loss.js';
export { registerUNet } from './register.js';
export { UNet } from './unet.js';
export { type WeightMapOptions, unetWeightMap } from './weight-map.js';

// Importing the package makes `unet` available to the CLI, the engine and the web demo.
registerUNet();
