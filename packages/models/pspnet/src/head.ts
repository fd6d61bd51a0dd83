import type { Rng } from '@semseg/core';
import { Conv2d, Dropout2d, ReLU, Sequential, TorchBatchNorm2d } from '@semseg/layers';

export interface ConvHeadOptions {
  inChannels: number;
  /** Channels of the 3x3 conv (the paper: 512 after the pyramid, 256 for the auxiliary head). */
  midChannels: number;
  numClasses: number;
  /** Channel dropout before the classifier (the reference: 0.1). */
  dropout: number;
  rng: Rng;
}

/**
 * 3x3 conv (no bias) + batch norm + ReLU + Dropout2d + 1x1 conv to the classes: PSPNet's final
 * classifier (`cls`) and its auxiliary head on layer3 (`aux`). Children are indexed as the
 * reference's nn.Sequential (hszhao/semseg): `0` conv, `1` bn, `4` classifier. PyTorch's default
 * initialisation, as the reference leaves these layers.
 */
export function convHead(options: ConvHeadOptions): Sequential {
  const { inChannels, midChannels, numClasses, dropout, rng } = options;
  return new Sequential([
    new Conv2d({
      inChannels,
      outChannels: midChannels,
      kernelSize: 3,
      padding: 1,
      bias: false,
      rng: rng.derive('conv'),
    }),
    new TorchBatchNorm2d(midChannels),
    new ReLU(),
    new Dropout2d(dropout, rng.derive('dropout')),
    new Conv2d({
      inChannels: midChannels,
      outChannels: numClasses,
      kernelSize: 1,
      rng: rng.derive('classifier'),
    }),
  ]);
}
