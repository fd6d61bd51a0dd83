import { registerModel } from '@semseg/core';
import { fcnConfigSchema } from './config.js';
import { FCN } from './fcn.js';

const DESCRIPTIONS = {
  '32s': 'FCN-32s (Long et al. 2015): VGG16, 1x1 scores, x32 upsampling',
  '16s': 'FCN-16s: FCN-32s plus a pool4 skip, x16 upsampling',
  '8s': 'FCN-8s: FCN-16s plus a pool3 skip, x8 upsampling',
} as const;

/** Registers fcn32s, fcn16s and fcn8s in @semseg/core's model registry (done on import). */
export function registerFcnModels(): void {
  for (const variant of ['32s', '16s', '8s'] as const) {
    registerModel({
      name: `fcn${variant}`,
      description: DESCRIPTIONS[variant],
      configSchema: fcnConfigSchema,
      create: (config, { rng }) => new FCN(variant, config, rng),
    });
  }
}
