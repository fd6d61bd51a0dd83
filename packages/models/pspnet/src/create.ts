import { ConfigError, IMAGENET_NORMALIZATION, Rng, type WeightNameMap } from '@semseg/core';
import { torchNameMap } from '@semseg/layers';
import { ResNet, dilationForOutputStride } from '@semseg/resnet';
import {
  type PspnetConfig,
  type PspnetDepth,
  type ResolvedPspnetConfig,
  pspnetConfigSchema,
} from './config.js';
import { PSPNet } from './pspnet.js';

function parse(config: PspnetConfig): ResolvedPspnetConfig {
  const parsed = pspnetConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid PSPNet config: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * PSPNet on torchvision's ResNet-50/101 (7x7 stem, not the paper's three 3x3 convs, so that
 * torchvision's ImageNet weights load), layer3 and layer4 dilated for output stride 8 as
 * torchvision's `replace_stride_with_dilation=[False, True, True]`.
 */
export function createPspnet(depth: PspnetDepth, config: PspnetConfig, rng: Rng): PSPNet {
  const c = parse(config);
  const backbone = new ResNet(
    {
      depth,
      replaceStrideWithDilation: dilationForOutputStride(c.outputStride),
      frozenBatchNorm: c.frozenBatchNorm,
      numClasses: null,
      width: c.width,
    },
    rng.derive('backbone'),
  );
  const model = new PSPNet(
    backbone,
    {
      numClasses: c.numClasses,
      bins: c.bins,
      dropout: c.dropout,
      auxWeight: c.auxWeight,
      alignCorners: c.alignCorners,
      width: c.width,
    },
    rng.derive('head'),
  );
  model.config = { ...c };
  return model;
}

/** The smallest width a probe needs: names and layouts do not depend on width. */
const PROBE_WIDTH = 1 / 64;

/**
 * PyTorch state_dicts of this architecture, keys as our names: torchvision's ResNet under
 * `backbone.`, the head as hszhao/semseg's (`ppm.features.{i}.{1,2}`, `cls.{0,1,4}`, `aux.{0,1,4}`).
 * Built from a narrow probe of the same structure, which is disposed.
 */
export function pspnetWeightMap(depth: PspnetDepth, config: PspnetConfig): WeightNameMap {
  const probe = createPspnet(depth, { ...config, width: PROBE_WIDTH }, new Rng(0));
  try {
    return torchNameMap(probe, {
      description: `a PyTorch state_dict of pspnet-resnet${depth} (torchvision ResNet-${depth} as backbone.*, the reference's ppm/cls/aux head)`,
      normalization: IMAGENET_NORMALIZATION,
    });
  } finally {
    probe.dispose();
  }
}
