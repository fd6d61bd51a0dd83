import { registerModel } from '@semseg/core';
import { type FcDenseNetVariant, fcDenseNetConfigSchema } from './config.js';
import { FcDenseNet } from './fc-densenet.js';
import { registerFcDenseNetPresets } from './presets.js';

const DESCRIPTIONS: Record<FcDenseNetVariant, string> = {
  '56': 'FC-DenseNet56 (Jégou et al. 2017): 4 layers per dense block, growth 12, 1.4M parameters',
  '67': 'FC-DenseNet67: 5 layers per dense block, growth 16, 3.5M parameters',
  '103': 'FC-DenseNet103, the hundred-layer Tiramisu: blocks of 4-15 layers, growth 16, 9.4M parameters',
};

/** Registers fc-densenet56, fc-densenet67, fc-densenet103 and their CamVid presets (done on import). */
export function registerFcDenseNetModels(): void {
  for (const variant of ['56', '67', '103'] as const) {
    registerModel({
      name: `fc-densenet${variant}`,
      description: DESCRIPTIONS[variant],
      configSchema: fcDenseNetConfigSchema(variant),
      create: (config, { rng }) => new FcDenseNet(variant, config, rng),
    });
  }
  registerFcDenseNetPresets();
}
