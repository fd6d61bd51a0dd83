import { registerModel } from '@semseg/core';
import { unetConfigSchema } from './config.js';
import { UNet } from './unet.js';
import { unetWeightMap } from './weight-map.js';

/** Registers `unet` in @semseg/core's model registry (done on import). */
export function registerUNet(): void {
  registerModel({
    name: 'unet',
    description:
      'U-Net (Ronneberger et al. 2015): contracting/expanding paths with skips; valid (572 -> 388, overlap-tile inference) or same padding',
    configSchema: unetConfigSchema,
    create: (config, { rng }) => new UNet(config, rng),
    // Eq. 2 on each training crop (`--weight-map`): balanced class weights plus the border term.
    pixelWeightMap: (input, { w0, sigma }) =>
      unetWeightMap({
        ...input,
        ...(w0 === undefined ? {} : { w0 }),
        ...(sigma === undefined ? {} : { sigma }),
      }),
  });
}
