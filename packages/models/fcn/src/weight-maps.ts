// Name maps between our FCN parameters and the released voc-fcn32s/16s/8s Caffe models
// (fcn.berkeleyvision.org: their layers are named as our modules; fc6/fc7 are convolutions), and
// our own names in PyTorch layouts (what `semseg export` writes for FCN, which has no
// torchvision counterpart on VGG16).
import type { Normalization, TensorSource, WeightNameMap } from '@semseg/core';
import type { FcnConfig, FcnVariant } from './config.js';

/**
 * The FCN reference's mean (voc-fcn*'s data layer: BGR 104.00699, 116.66877, 122.67892 on
 * 0..255), written in RGB order as our Normalization keeps it.
 */
export const FCN_CAFFE_NORMALIZATION: Normalization = {
  mean: [122.67892, 116.66877, 104.00699],
  std: [1, 1, 1],
  scale: 255,
  channelOrder: 'bgr',
};

/** The model's layers that are transposed convolutions (Caffe Deconvolution, no bias). */
const UPSAMPLING: Record<FcnVariant, readonly string[]> = {
  '32s': ['upscore'],
  '16s': ['upscore2', 'upscore16'],
  '8s': ['upscore2', 'upscore_pool4', 'upscore8'],
};

/** Our parameter `backbone.conv1_1.weight` / `score_fr.bias` -> its layer and blob. */
function split(parameter: string): { layer: string; blob: 'weight' | 'bias' } | null {
  const m = /^(?:backbone\.)?([a-z0-9_]+)\.(weight|bias)$/.exec(parameter);
  return m ? { layer: m[1]!, blob: m[2] as 'weight' | 'bias' } : null;
}

/** The voc-fcn* Caffe model of a variant (V2 `layer` or V1 `layers`: both read the same). */
export function fcnCaffeMap(variant: FcnVariant): WeightNameMap {
  const upsampling = new Set(UPSAMPLING[variant]);
  return {
    format: 'caffe',
    description: `the voc-fcn${variant} Caffe model (fcn.berkeleyvision.org)`,
    normalization: FCN_CAFFE_NORMALIZATION,
    source(parameter: string): TensorSource | null {
      const at = split(parameter);
      // Batch norm (our option, not the reference's) has no Caffe counterpart here.
      if (!at || at.layer.endsWith('_bn')) return null;
      const index = at.blob === 'weight' ? 0 : 1;
      const layout = at.blob === 'bias' ? 'same' : upsampling.has(at.layer) ? 'conv-transpose' : 'conv';
      return { key: `${at.layer}/${index}`, layout };
    },
  };
}

/** Our dotted names, kernels in PyTorch's OIHW / [in, out, kh, kw]: `semseg export`'s FCN files. */
export function fcnPytorchMap(): WeightNameMap {
  return {
    format: 'pytorch',
    description: "semseg.js's own FCN names in PyTorch layouts",
    normalization: FCN_CAFFE_NORMALIZATION,
    source(parameter: string): TensorSource | null {
      const layout = /\.weight$/.test(parameter) && !/_bn\.weight$/.test(parameter) ? 'conv' : 'same';
      return { key: parameter, layout };
    },
  };
}

/** The name maps of an FCN variant: the released Caffe models, and our PyTorch-layout exports. */
export function fcnWeightMaps(variant: FcnVariant, _config: FcnConfig): WeightNameMap[] {
  return [fcnCaffeMap(variant), fcnPytorchMap()];
}
