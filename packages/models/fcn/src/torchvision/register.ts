import {
  type PretrainedInit,
  type Rng,
  type SegmentationModel,
  registerModel,
  registerTrainPreset,
} from '@semseg/core';
import { loadTorchWeights, resnetWeightMap } from '@semseg/resnet';
import type { ResNet } from '@semseg/resnet';
import { type ProbeOptions, RESNET_PROBE_WIDTH, probeTorchNameMap } from './base.js';
import { type TorchvisionResNetSegConfig, torchvisionResNetSegConfigSchema } from './config.js';
import { FcnResNet } from './fcn-resnet.js';
import { FCN_RESNET_PRESETS, torchvisionParameterGroup } from './recipe.js';

/** `--pretrained`: torchvision's ImageNet ResNet file into a model's `backbone` (its `fc` ignored). */
export function resnetBackbonePretrained<M extends SegmentationModel & { backbone: ResNet }>(
  depth: number,
): PretrainedInit<M> {
  return {
    description: `torchvision's ImageNet resnet${depth} classification weights (.pth or .safetensors, e.g. resnet${depth}-*.pth)`,
    load: (model, source) =>
      loadTorchWeights(model, resnetWeightMap(model, model.backbone, { prefix: 'backbone.' }), source),
  };
}

/** A file's `aux_classifier.*` when the model was built without the auxiliary head. */
export function ignoreAuxWhenAbsent(config: { auxLoss?: boolean }): ProbeOptions {
  return config.auxLoss === false ? { ignore: (key) => key.startsWith('aux_classifier.') } : {};
}

/**
 * Registers `fcn-resnet50` and `fcn-resnet101` (torchvision's architectures and state_dict names)
 * and their torchvision training presets.
 */
export function registerTorchvisionFcnModels(): void {
  for (const depth of [50, 101] as const) {
    const create = (config: TorchvisionResNetSegConfig, rng: Rng) => new FcnResNet(depth, config, rng);
    registerModel({
      name: `fcn-resnet${depth}`,
      description: `FCN on a dilated ResNet-${depth} (output stride 8) as torchvision's fcn_resnet${depth}; loads its checkpoints by name`,
      configSchema: torchvisionResNetSegConfigSchema,
      create: (config, { rng }) => create(config, rng),
      pretrained: resnetBackbonePretrained<FcnResNet>(depth),
      parameterGroup: torchvisionParameterGroup,
      weightMaps: (config) => [
        probeTorchNameMap(create, config, `torchvision's fcn_resnet${depth} state_dict`, {
          ...ignoreAuxWhenAbsent(config),
          probeWidth: RESNET_PROBE_WIDTH,
        }),
      ],
    });
  }
  for (const preset of FCN_RESNET_PRESETS) registerTrainPreset(preset);
}
