import { registerModel } from '@semseg/core';
import {
  deeplabParameterGroup,
  deeplabV1WeightMaps,
  deeplabV2WeightMaps,
  dilatedNetParameterGroup,
} from './caffe-names.js';
import {
  type ResolvedDeepLabV2Config,
  contextWrapperConfigSchema,
  deeplabV1ConfigSchema,
  deeplabV2ConfigSchema,
  dilatedNetConfigSchema,
} from './config.js';
import { ContextOnModel } from './context-wrapper.js';
import { DeepLabV1 } from './deeplab-v1.js';
import { DeepLabV2, defaultScales } from './deeplab-v2.js';
import { DilatedNet } from './dilatednet.js';
import { registerDeepLabPresets } from './presets.js';
import { deeplabV1Pretrained, deeplabV2Pretrained, dilatedNetPretrained } from './pretrained.js';

/** Registers deeplab-v1, deeplab-v2, dilatednet and dilated-context, and their presets (on import). */
export function registerDeepLabModels(): void {
  registerModel({
    name: 'deeplab-v1',
    description:
      'DeepLab-LargeFOV (Chen et al. 2015): atrous VGG16, fc6 3x3 rate 12, output stride 8, dense CRF',
    configSchema: deeplabV1ConfigSchema,
    create: (config, { rng }) => new DeepLabV1(config, rng),
    pretrained: deeplabV1Pretrained,
    parameterGroup: deeplabParameterGroup,
    weightMaps: () => deeplabV1WeightMaps(),
    crfPreset: 'deeplabV1',
  });
  registerModel({
    name: 'deeplab-v2',
    description:
      'DeepLab v2 (Chen et al. 2017): ASPP (rates 6/12/18/24) on VGG16 or ResNet-101, multi-scale inputs',
    configSchema: deeplabV2ConfigSchema,
    create: (config, { rng }) => new DeepLabV2(config, rng),
    pretrained: deeplabV2Pretrained,
    parameterGroup: deeplabParameterGroup,
    weightMaps: (config) =>
      deeplabV2WeightMaps({
        ...config,
        scales: config.scales ?? defaultScales(config.backbone),
      } as ResolvedDeepLabV2Config),
    // The released v2 CRF settings differ per backbone (DeepLab v2's test prototxts).
    crfPreset: (config) => (config.backbone === 'resnet101' ? 'deeplabV2Resnet101' : 'deeplabV2Vgg16'),
  });
  registerModel({
    name: 'dilatednet',
    description: 'DilatedNet (Yu & Koltun 2016): dilated VGG16 front-end, output stride 8, context module',
    configSchema: dilatedNetConfigSchema,
    create: (config, { rng }) => new DilatedNet(config, rng),
    pretrained: dilatedNetPretrained,
    parameterGroup: dilatedNetParameterGroup,
  });
  registerModel({
    name: 'dilated-context',
    description: "Yu & Koltun's context module (identity-initialised) on any registered model's logits",
    configSchema: contextWrapperConfigSchema,
    create: (config, { rng }) => new ContextOnModel(config, rng),
  });
  registerDeepLabPresets();
}
