import { type ParameterGroup, registerModel } from '@semseg/core';
import { fcnConfigSchema } from './config.js';
import { FCN } from './fcn.js';
import { registerFcnPresets } from './presets.js';
import { fcnWeightMaps } from './weight-maps.js';

const DESCRIPTIONS = {
  '32s': 'FCN-32s (Long et al. 2015): VGG16, 1x1 scores, x32 upsampling',
  '16s': 'FCN-16s: FCN-32s plus a pool4 skip, x16 upsampling',
  '8s': 'FCN-8s: FCN-16s plus a pool3 skip, x8 upsampling',
} as const;

/**
 * Every learned layer of the voc-fcn* prototxts: weights `lr_mult: 1 decay_mult: 1`, biases
 * `lr_mult: 2 decay_mult: 0`. Batch norm (VGG16's `<conv>_bn`, not in the paper) is undecayed.
 */
export function fcnParameterGroup(name: string): ParameterGroup {
  if (/_bn\.(weight|bias)$/.test(name)) return { lrMultiplier: 1, decayMultiplier: 0 };
  if (name.endsWith('.bias')) return { lrMultiplier: 2, decayMultiplier: 0 };
  return { lrMultiplier: 1, decayMultiplier: 1 };
}

/** Registers fcn32s, fcn16s and fcn8s and the reference recipes in @semseg/core (done on import). */
export function registerFcnModels(): void {
  for (const variant of ['32s', '16s', '8s'] as const) {
    registerModel({
      name: `fcn${variant}`,
      description: DESCRIPTIONS[variant],
      configSchema: fcnConfigSchema,
      create: (config, { rng }) => new FCN(variant, config, rng),
      parameterGroup: fcnParameterGroup,
      weightMaps: (config) => fcnWeightMaps(variant, config),
      pretrained: {
        description:
          'ImageNet VGG16: VGG_ILSVRC_16_layers.caffemodel, torchvision vgg16/vgg16_bn .pth/.safetensors, Keras .h5, TF.js',
        load: (model, source) => model.loadBackboneWeights(source),
      },
    });
  }
  registerFcnPresets();
}
