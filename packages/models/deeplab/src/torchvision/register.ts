import { type Rng, registerModel } from '@semseg/core';
import type { PretrainedInit } from '@semseg/core';
import {
  RESNET_PROBE_WIDTH,
  type TorchvisionResNetSegConfig,
  ignoreAuxWhenAbsent,
  probeTorchNameMap,
  resnetBackbonePretrained,
  torchvisionParameterGroup,
  torchvisionResNetSegConfigSchema,
} from '@semseg/fcn';
import { torchNameMap } from '@semseg/layers';
import { loadTorchWeights } from '@semseg/resnet';
import {
  type DeepLabV3PlusConfig,
  type LrasppConfig,
  type TorchvisionMobileNetSegConfig,
  deeplabV3PlusConfigSchema,
  lrasppConfigSchema,
  torchvisionMobileNetSegConfigSchema,
} from './config.js';
import { DeepLabV3MobileNet, DeepLabV3ResNet } from './deeplabv3.js';
import { DeepLabV3PlusResNet } from './deeplabv3plus.js';
import { LRASPPMobileNet } from './lraspp.js';
import { registerTorchvisionDeepLabPresets } from './presets.js';

/**
 * `--pretrained` for the MobileNetV3 models: torchvision's ImageNet mobilenet_v3_large file, whose
 * `features.*` become our `backbone.*` (its classifier ignored).
 */
function mobilenetBackbonePretrained<M extends DeepLabV3MobileNet | LRASPPMobileNet>(): PretrainedInit<M> {
  return {
    description: "torchvision's ImageNet mobilenet_v3_large classification weights (.pth or .safetensors)",
    load: (model, source) =>
      loadTorchWeights(
        model,
        torchNameMap(model, {
          description: "torchvision's mobilenet_v3_large state_dict",
          normalization: model.normalization,
          prefix: 'backbone.',
          filePrefix: 'features.',
          ignore: (key) => key.startsWith('classifier.'),
        }),
        source,
      ),
  };
}

/**
 * Registers torchvision's DeepLabV3 (ResNet-50/101, MobileNetV3-Large), LR-ASPP (MobileNetV3-Large)
 * and DeepLab v3+ on ResNet-50/101, with PyTorch name maps, ImageNet initialisation, torchvision's
 * optimiser groups (auxiliary head at lr x10, decay on every parameter) and the training presets.
 */
export function registerTorchvisionDeepLabModels(): void {
  for (const depth of [50, 101] as const) {
    const create = (config: TorchvisionResNetSegConfig, rng: Rng) => new DeepLabV3ResNet(depth, config, rng);
    registerModel({
      name: `deeplabv3-resnet${depth}`,
      description: `DeepLabV3 (ASPP with image pooling) on a dilated ResNet-${depth}, output stride 8, as torchvision's deeplabv3_resnet${depth}`,
      configSchema: torchvisionResNetSegConfigSchema,
      create: (config, { rng }) => create(config, rng),
      pretrained: resnetBackbonePretrained<DeepLabV3ResNet>(depth),
      parameterGroup: torchvisionParameterGroup,
      weightMaps: (config) => [
        probeTorchNameMap(create, config, `torchvision's deeplabv3_resnet${depth} state_dict`, {
          ...ignoreAuxWhenAbsent(config),
          probeWidth: RESNET_PROBE_WIDTH,
        }),
      ],
    });
    const createPlus = (config: DeepLabV3PlusConfig, rng: Rng) => new DeepLabV3PlusResNet(depth, config, rng);
    registerModel({
      name: `deeplabv3plus-resnet${depth}`,
      description: `DeepLab v3+ (ASPP and a decoder on layer1) on ResNet-${depth}, output stride 16 (8 as an option)`,
      configSchema: deeplabV3PlusConfigSchema,
      create: (config, { rng }) => createPlus(config, rng),
      pretrained: resnetBackbonePretrained<DeepLabV3PlusResNet>(depth),
      weightMaps: (config) => [
        probeTorchNameMap(createPlus, config, `DeepLab v3+ on torchvision's resnet${depth} (PyTorch names)`, {
          ...ignoreAuxWhenAbsent(config),
          probeWidth: RESNET_PROBE_WIDTH,
        }),
      ],
    });
  }
  const createMobile = (config: TorchvisionMobileNetSegConfig, rng: Rng) =>
    new DeepLabV3MobileNet(config, rng);
  registerModel({
    name: 'deeplabv3-mobilenetv3-large',
    description:
      "DeepLabV3 on a dilated MobileNetV3-Large, output stride 16, as torchvision's deeplabv3_mobilenet_v3_large",
    configSchema: torchvisionMobileNetSegConfigSchema,
    create: (config, { rng }) => createMobile(config, rng),
    pretrained: mobilenetBackbonePretrained<DeepLabV3MobileNet>(),
    parameterGroup: torchvisionParameterGroup,
    weightMaps: (config) => [
      probeTorchNameMap(
        createMobile,
        config,
        "torchvision's deeplabv3_mobilenet_v3_large state_dict",
        ignoreAuxWhenAbsent(config),
      ),
    ],
  });
  const createLraspp = (config: LrasppConfig, rng: Rng) => new LRASPPMobileNet(config, rng);
  registerModel({
    name: 'lraspp-mobilenetv3-large',
    description:
      "LR-ASPP (Howard et al. 2019) on a dilated MobileNetV3-Large, as torchvision's lraspp_mobilenet_v3_large",
    configSchema: lrasppConfigSchema,
    create: (config, { rng }) => createLraspp(config, rng),
    pretrained: mobilenetBackbonePretrained<LRASPPMobileNet>(),
    parameterGroup: torchvisionParameterGroup,
    weightMaps: (config) => [
      probeTorchNameMap(createLraspp, config, "torchvision's lraspp_mobilenet_v3_large state_dict"),
    ],
  });
  registerTorchvisionDeepLabPresets();
}
