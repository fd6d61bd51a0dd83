import {
  ConfigError,
  type PretrainedInit,
  type PretrainedReport,
  Rng,
  type WeightsInput,
} from '@semseg/core';
import type { Conv2d } from '@semseg/layers';
import { ResNet, loadTorchWeights, resnetWeightMap } from '@semseg/resnet';
import { VGG16, VGG16_CONV_NAMES, type WeightsSource } from '@semseg/vgg16';
import type * as tf from '@tensorflow/tfjs-core';
import type { DeepLabV1 } from './deeplab-v1.js';
import type { DeepLabV2 } from './deeplab-v2.js';
import type { DilatedNet } from './dilatednet.js';

function toWeightsSource(source: WeightsInput): WeightsSource {
  if (typeof source === 'string') return source;
  const { name, data } = source;
  // One named file: HDF5 bytes or (with its shards elsewhere) a model.json; VGG16 detects which.
  return [{ name, arrayBuffer: async () => data.slice().buffer }];
}

function copy(to: { weight: Conv2d['weight']; bias: Conv2d['bias'] }, from: Conv2d): void {
  to.weight.assign(from.weight);
  if (to.bias && from.bias) to.bias.assign(from.bias);
}

/**
 * Loads ImageNet VGG16 (the weights @semseg/vgg16 reads) into a DeepLab/DilatedNet model: the 13
 * convs as they are, and fc6/fc7 into every fc6/fc7 the model has, decimated to 3x3x1024 and
 * 1x1x1024 for DeepLab's LargeFOV heads (as the DeepLab release made its init model) or kept 7x7x4096
 * for DilatedNet. Through a temporary width-1 VGG16, which is disposed.
 */
async function loadVgg(
  target: { backbone: VGG16; config: { width: number } },
  fcPairs: Array<[Conv2d, Conv2d]>,
  fc: 'largefov' | '7x7',
  fcNames: string[],
  source: WeightsInput,
): Promise<PretrainedReport> {
  if (target.config.width !== 1) {
    throw new ConfigError(`ImageNet VGG16 weights need width 1, the model has width ${target.config.width}`);
  }
  const vgg = new VGG16(
    { fc, outputStride: 8, pool: '3x3', width: 1, ...(fc === '7x7' ? { fc6Padding: 'same' } : {}) },
    new Rng(0),
  );
  try {
    const report = await vgg.loadWeights(toWeightsSource(source));
    const ours = target.backbone.stateDict();
    const theirs = vgg.stateDict();
    const loaded: string[] = [];
    for (const name of VGG16_CONV_NAMES) {
      for (const p of ['weight', 'bias']) {
        (ours[`${name}.${p}`] as tf.Variable).assign(theirs[`${name}.${p}`]!);
        loaded.push(`backbone.${name}.${p}`);
      }
    }
    const fcCovered = !report.notInSource.some((n) => n.startsWith('fc6') || n.startsWith('fc7'));
    const fc6 = vgg.getModule('fc6') as Conv2d;
    const fc7 = vgg.getModule('fc7') as Conv2d;
    if (fcCovered) {
      fcPairs.forEach(([six, seven], i) => {
        copy(six, fc6);
        copy(seven, fc7);
        loaded.push(...fcNames[i]!.split(',').flatMap((n) => [`${n}.weight`, `${n}.bias`]));
      });
    }
    return {
      file: report.file,
      format: report.format,
      loaded,
      notInSource: fcCovered ? [] : fcNames.flatMap((n) => n.split(',')),
    };
  } finally {
    vgg.dispose();
  }
}

export const deeplabV1Pretrained: PretrainedInit<DeepLabV1> = {
  description: 'ImageNet VGG16 (TF.js Layers model.json or Keras .h5); fc6/fc7 decimated to LargeFOV',
  load: (model, source) =>
    loadVgg(model, [[model.head.fc6, model.head.fc7]], 'largefov', ['fc6,fc7'], source),
};

export const deeplabV2Pretrained: PretrainedInit<DeepLabV2> = {
  description:
    "VGG16: ImageNet VGG16 (TF.js Layers model.json or Keras .h5), decimated fc6/fc7 into every ASPP branch; ResNet-101: torchvision's resnet101 .pth / .safetensors",
  load: (model, source) => {
    const backbone = model.backbone;
    if (backbone instanceof ResNet) {
      return loadTorchWeights(model, resnetWeightMap(model, backbone, { prefix: 'backbone.' }), source);
    }
    return loadVgg(
      { backbone, config: model.config },
      model.branches.map((b) => [b.fc6, b.fc7] as [Conv2d, Conv2d]),
      'largefov',
      model.branches.map((_, i) => `fc6_${i + 1},fc7_${i + 1}`),
      source,
    );
  },
};

export const dilatedNetPretrained: PretrainedInit<DilatedNet> = {
  description: 'ImageNet VGG16 (TF.js Layers model.json or Keras .h5); fc6/fc7 as 7x7x4096 and 1x1x4096',
  load: (model, source) => loadVgg(model, [[model.fc6, model.fc7]], '7x7', ['fc6,fc7'], source),
};
