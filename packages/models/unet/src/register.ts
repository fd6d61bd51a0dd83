import { registerModel } from '@semseg/core';
import { unetConfigSchema } from './config.js';
import { UNet } from './unet.js';

/** Registers `unet` in @semseg/core's model registry (done on import). */
export function registerUNet(): void {
  registerModel({
    name: 'unet',
    description:
      'U-Net (Ronneberger et al. 2015): contracting/expanding paths with skips; valid (572 -> 388, overlap-tile inference) or same padding',
    configSchema: unetConfigSchema,
    create: (config, { rng }) => new UNet(config, rng),
  });
}
