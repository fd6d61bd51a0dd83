import { registerModel } from '@semseg/core';
import { deconvnetConfigSchema, segnetConfigSchema } from './config.js';
import { DeconvNet } from './deconvnet.js';
import { registerDeconvNetPresets } from './presets.js';
import { SegNet } from './segnet.js';
import { seedDeconvNetMap } from './weight-maps.js';

/** Registers deconvnet and segnet (and their training presets) with @semseg/core's registry. */
export function registerDeconvNetModels(): void {
  registerModel({
    name: 'deconvnet',
    description: 'DeconvNet (Noh et al. 2015): VGG16-BN, fc6/fc7, mirrored unpooling + deconvolution decoder',
    configSchema: deconvnetConfigSchema,
    create: (config, { rng }) => new DeconvNet(config, rng),
    weightMaps: () => [seedDeconvNetMap()],
    // The paper's best result (EDeconvNet+CRF) post-processes with the dense CRF.
    crfPreset: 'deconvNet',
  });
  registerModel({
    name: 'segnet',
    description:
      "SegNet (Badrinarayanan et al. 2017): VGG16-BN encoder, decoder unpooling with the encoder's indices",
    configSchema: segnetConfigSchema,
    create: (config, { rng }) => new SegNet(config, rng),
  });
  registerDeconvNetPresets();
}
