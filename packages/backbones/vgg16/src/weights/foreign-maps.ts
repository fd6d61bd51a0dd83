// VGG16's ImageNet weights as Caffe and PyTorch publish them: BVLC's VGG_ILSVRC_16_layers
// .caffemodel (layers conv1_1 .. conv5_3, fc6/fc7 InnerProduct, fc8) and torchvision's vgg16 /
// vgg16_bn (features.N, classifier.0/3/6). Our names are VGG16's own (`conv1_1.weight`,
// `conv1_1_bn.runningMean`, `fc6.weight`).
import { CAFFE_VGG_NORMALIZATION, IMAGENET_NORMALIZATION, type WeightNameMap } from '@semseg/core';
import type { TensorLayout } from '@semseg/weights';
import { VGG16_BLOCKS } from '../config.js';

const OUR_NAME = /^(conv\d_\d|fc[67])(_bn)?\.(weight|bias|runningMean|runningVar)$/;

/**
 * VGG_ILSVRC_16_layers.caffemodel (V1 `layers`). fc6/fc7 are InnerProduct in the release and
 * Convolution in convolutionalised copies: `fcLayout` says which this file holds.
 */
export function vggCaffeMap(fcLayout: TensorLayout): WeightNameMap {
  return {
    format: 'caffe',
    description: 'the VGG_ILSVRC_16_layers Caffe model',
    normalization: CAFFE_VGG_NORMALIZATION,
    source(parameter) {
      const m = OUR_NAME.exec(parameter);
      if (!m || m[2]) return null;
      const [, layer, , kind] = m as unknown as [string, string, string | undefined, string];
      const key = `${layer}/${kind === 'weight' ? 0 : 1}`;
      if (kind === 'bias') return { key, layout: 'same' };
      return { key, layout: layer.startsWith('fc') ? fcLayout : 'conv' };
    },
    // fc8 is ImageNet's 1000-way classifier.
    ignore: (key) => key.startsWith('fc8/'),
  };
}

const BN_NAMES: Record<string, string> = {
  weight: 'weight',
  bias: 'bias',
  runningMean: 'running_mean',
  runningVar: 'running_var',
};

/** torchvision's `vgg16` (`batchNorm: false`) or `vgg16_bn` state dict. */
export function vggTorchvisionMap(batchNorm: boolean): WeightNameMap {
  // features.N: conv (and bn) then ReLU per conv; a MaxPool after each block.
  const index = new Map<string, number>();
  let at = 0;
  VGG16_BLOCKS.forEach((block, b) => {
    block.forEach((_, i) => {
      index.set(`conv${b + 1}_${i + 1}`, at);
      at += batchNorm ? 3 : 2;
    });
    at += 1;
  });
  return {
    format: 'pytorch',
    description: `torchvision's ${batchNorm ? 'vgg16_bn' : 'vgg16'}`,
    normalization: IMAGENET_NORMALIZATION,
    source(parameter) {
      const m = OUR_NAME.exec(parameter);
      if (!m) return null;
      const [, layer, bn, kind] = m as unknown as [string, string, string | undefined, string];
      if (layer.startsWith('fc')) {
        if (bn) return null;
        const key = `classifier.${layer === 'fc6' ? 0 : 3}.${kind}`;
        return { key, layout: kind === 'weight' ? 'linear-as-conv' : 'same' };
      }
      const i = index.get(layer)!;
      if (bn) return { key: `features.${i + 1}.${BN_NAMES[kind]}`, layout: 'same' };
      return { key: `features.${i}.${kind}`, layout: kind === 'weight' ? 'conv' : 'same' };
    },
    ignore: (key) => key.startsWith('classifier.6.') || key.endsWith('.num_batches_tracked'),
  };
}
