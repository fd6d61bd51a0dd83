import { type PretrainedReport, type WeightsInput, registerModel } from '@semseg/core';
import { ResNet, loadTorchWeights, resnetWeightMap } from '@semseg/resnet';
import { type PspnetDepth, pspnetConfigSchema } from './config.js';
import { createPspnet, pspnetWeightMap } from './create.js';
import type { PSPNet } from './pspnet.js';
import { pspnetParameterGroup, registerPspnetPresets } from './recipe.js';

/**
 * torchvision's ImageNet classification weights (`resnet50-*.pth`, `resnet101-*.pth`) into
 * `backbone.*` by name; the file's classifier `fc.*` is not used and the head stays as initialised.
 */
function loadImageNetBackbone(model: PSPNet, source: WeightsInput): Promise<PretrainedReport> {
  if (!(model.backbone instanceof ResNet)) {
    throw new TypeError('PSPNet: ImageNet initialisation needs the ResNet backbone');
  }
  const map = resnetWeightMap(model, model.backbone, { prefix: 'backbone.', filePrefix: '' });
  return loadTorchWeights(model, map, source);
}

/** Registers pspnet-resnet50 and pspnet-resnet101 and their VOC recipes (done on import). */
export function registerPspnetModels(): void {
  for (const depth of [50, 101] as const satisfies readonly PspnetDepth[]) {
    registerModel({
      name: `pspnet-resnet${depth}`,
      description: `PSPNet (Zhao et al. 2017): pyramid pooling (bins 1, 2, 3, 6) on a dilated ResNet-${depth}, output stride 8, auxiliary loss on layer3`,
      configSchema: pspnetConfigSchema,
      create: (config, { rng }) => createPspnet(depth, config, rng),
      parameterGroup: pspnetParameterGroup,
      weightMaps: (config) => [pspnetWeightMap(depth, config)],
      pretrained: {
        description: `torchvision's ImageNet ResNet-${depth} weights (.pth or .safetensors) into the backbone`,
        load: loadImageNetBackbone,
      },
    });
  }
  registerPspnetPresets();
}
