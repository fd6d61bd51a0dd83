import { ConfigError, Module, type Rng } from '@semseg/core';
import { AdaptiveAvgPool2d, Conv2d, ReLU, Sequential, TorchBatchNorm2d, resize } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

export interface PyramidPoolingOptions {
  inChannels: number;
  /** Pyramid levels: each pools to bins x bins (the paper: 1, 2, 3, 6). */
  bins: readonly number[];
  /** Channels of each level after its 1x1 conv (the paper: inChannels / number of levels). */
  reductionChannels: number;
  /** Upsampling back to the feature size with aligned corners (the reference's) or half-pixel centres. */
  alignCorners: boolean;
  rng: Rng;
}

/**
 * The pyramid pooling module (Zhao et al. 2017, Fig. 3): for each bin size, adaptive average
 * pooling, a 1x1 conv without bias, batch norm and ReLU, then bilinear upsampling back to the
 * feature map's size; the levels are concatenated after the features themselves. Children are
 * named as the reference's (hszhao/semseg `PPM`): `features.{level}.{1: conv, 2: bn}`.
 */
export class PyramidPooling extends Module {
  readonly levels: Sequential[];
  readonly outChannels: number;
  readonly alignCorners: boolean;

  constructor(options: PyramidPoolingOptions) {
    super();
    const { inChannels, bins, reductionChannels, rng } = options;
    if (bins.length === 0) throw new ConfigError('pyramid pooling needs at least one bin size');
    this.alignCorners = options.alignCorners;
    const levels = bins.map(
      (bin, i) =>
        new Sequential([
          new AdaptiveAvgPool2d(bin),
          new Conv2d({
            inChannels,
            outChannels: reductionChannels,
            kernelSize: 1,
            bias: false,
            rng: rng.derive(`level${i}`),
          }),
          new TorchBatchNorm2d(reductionChannels),
          new ReLU(),
        ]),
    );
    this.levels = this.registerModule('features', new ModuleList(levels)).items;
    this.outChannels = inChannels + bins.length * reductionChannels;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const size: [number, number] = [x.shape[1], x.shape[2]];
      const pooled = this.levels.map((level) =>
        resize(level.forward(x), size, { mode: 'bilinear', alignCorners: this.alignCorners }),
      );
      return tf.concat([x, ...pooled], 3);
    });
  }
}

/** Children named by index and not chained (PyTorch's ModuleList). */
class ModuleList<M extends Module> extends Module {
  readonly items: M[];

  constructor(items: readonly M[]) {
    super();
    this.items = items.map((item, i) => this.registerModule(`${i}`, item));
  }
}
