import type { ParameterGroup, TensorSource, WeightNameMap } from '@semseg/core';
import { VGG16_CONV_NAMES } from '@semseg/vgg16';
import { DEEPLAB_NORMALIZATION } from './caffe-ops.js';
import type { ResolvedDeepLabV2Config } from './config.js';

/**
 * The prototxts' multipliers: every conv's weights lr 1 / decay 1 and biases lr 2 / decay 0;
 * the new classifier (fc8, fc8_k; ResNet-101's fc1_c0..c3) weights lr 10 / decay 1 and biases lr
 * 20 / decay 0. (ResNet-101's batch norm is frozen, as the released `use_global_stats`.)
 */
export function deeplabParameterGroup(name: string): ParameterGroup {
  const bias = name.endsWith('.bias');
  const classifier = /^(fc8(_\d+)?|fc1_c\d+)\./.test(name);
  if (classifier)
    return bias ? { lrMultiplier: 20, decayMultiplier: 0 } : { lrMultiplier: 10, decayMultiplier: 1 };
  return bias ? { lrMultiplier: 2, decayMultiplier: 0 } : { lrMultiplier: 1, decayMultiplier: 1 };
}

/** fyu/dilation's network.py: weights 1 / 1, biases 2 / 0 everywhere, `final` and context included. */
export function dilatedNetParameterGroup(name: string): ParameterGroup {
  return name.endsWith('.bias')
    ? { lrMultiplier: 2, decayMultiplier: 0 }
    : { lrMultiplier: 1, decayMultiplier: 1 };
}

/** `layer/0` (weights, OIHW) and `layer/1` (bias) of a Caffe Convolution. */
function convBlob(layer: string, parameter: 'weight' | 'bias'): TensorSource {
  return parameter === 'weight'
    ? { key: `${layer}/0`, layout: 'conv' }
    : { key: `${layer}/1`, layout: 'same' };
}

/** Our `module.weight|bias` to Caffe layer names, through a table of module -> layer. */
function mapThrough(layers: Record<string, string>): (parameter: string) => TensorSource | null {
  return (parameter) => {
    const dot = parameter.lastIndexOf('.');
    const module = parameter.slice(0, dot);
    const kind = parameter.slice(dot + 1);
    const layer = layers[module];
    if (!layer || (kind !== 'weight' && kind !== 'bias')) return null;
    return convBlob(layer, kind);
  };
}

function backboneLayers(): Record<string, string> {
  return Object.fromEntries(VGG16_CONV_NAMES.map((n) => [`backbone.${n}`, n]));
}

/** The released DeepLab-LargeFOV caffemodel (VOC12: `fc8_voc12`). */
export function deeplabV1WeightMaps(): WeightNameMap[] {
  return [
    {
      format: 'caffe',
      description: 'the released DeepLab-LargeFOV Caffe model (train2_iter_8000.caffemodel, fc8_voc12)',
      source: mapThrough({ ...backboneLayers(), fc6: 'fc6', fc7: 'fc7', fc8: 'fc8_voc12' }),
      normalization: DEEPLAB_NORMALIZATION,
    },
  ];
}

/** The released DeepLab v2 VGG16 ASPP caffemodel (`fc6_k`, `fc7_k`, `fc8_voc12_k`). */
export function deeplabV2WeightMaps(config: ResolvedDeepLabV2Config): WeightNameMap[] {
  if (config.backbone !== 'vgg16') return [];
  const layers: Record<string, string> = backboneLayers();
  config.rates.forEach((_, i) => {
    const k = i + 1;
    layers[`fc6_${k}`] = `fc6_${k}`;
    layers[`fc7_${k}`] = `fc7_${k}`;
    layers[`fc8_${k}`] = `fc8_voc12_${k}`;
  });
  return [
    {
      format: 'caffe',
      description: 'the released DeepLab v2 VGG16 ASPP Caffe model (fc6_k / fc7_k / fc8_voc12_k)',
      source: mapThrough(layers),
      normalization: DEEPLAB_NORMALIZATION,
    },
  ];
}
