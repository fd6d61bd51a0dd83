import { ConfigError, type PretrainedInit, registerModel } from '@semseg/core';
import { deconvnetConfigSchema, segnetConfigSchema } from './config.js';
import { DeconvNet } from './deconvnet.js';
import { registerDeconvNetPresets } from './presets.js';
import { SegNet } from './segnet.js';
import { seedDeconvNetMap } from './weight-maps.js';

const VGG_FILES =
  'ImageNet VGG16: torchvision vgg16_bn / vgg16 .pth or .safetensors, VGG_ILSVRC_16_layers.caffemodel, Keras .h5, TF.js (batch norm stays as initialised where the file has none)';

/** Both networks start from ImageNet VGG16 as the papers do: the encoder only. */
function vggPretrained<M extends DeconvNet | SegNet>(): PretrainedInit<M> {
  return {
    description: VGG_FILES,
    load: async (model, source) => {
      if (!model.backbone)
        throw new ConfigError('SegNet-Basic has no VGG16 encoder to take ImageNet weights');
      return model.backbone.loadWeights(source);
    },
  };
}

/** Registers deconvnet and segnet (and their training presets) with @semseg/core's registry. */
export function registerDeconvNetModels(): void {
  registerModel({
    name: 'deconvnet',
    description: 'DeconvNet (Noh et al. 2015): VGG16-BN, fc6/fc7, mirrored unpooling + deconvolution decoder',
    configSchema: deconvnetConfigSchema,
    create: (config, { rng }) => new DeconvNet(config, rng),
    weightMaps: () => [seedDeconvNetMap()],
    pretrained: vggPretrained<DeconvNet>(),
    // The paper's best result (EDeconvNet+CRF) post-processes with the dense CRF.
    crfPreset: 'deconvNet',
  });
  registerModel({
    name: 'segnet',
    description:
      "SegNet (Badrinarayanan et al. 2017): VGG16-BN encoder, decoder unpooling with the encoder's indices",
    configSchema: segnetConfigSchema,
    create: (config, { rng }) => new SegNet(config, rng),
    pretrained: vggPretrained<SegNet>(),
  });
  registerDeconvNetPresets();
}
