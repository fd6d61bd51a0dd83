import type { Rng } from '@semseg/core';
import { Conv2d, Layer, zeros } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/** One context layer: name (fyu/dilation network.py), kernel, dilation, output channels as multiples of C. */
interface ContextLayerSpec {
  name: string;
  kernel: number;
  dilation: number;
  /** Output channels as a multiple of C: Yu & Koltun's Table 1. */
  width: number;
}

/** Table 1 of Yu & Koltun: dilations 1, 1, 2, 4, 8, 16, 1 and a final 1x1; large widens the middle. */
export function contextLayers(variant: 'basic' | 'large'): ContextLayerSpec[] {
  const widths = variant === 'basic' ? [1, 1, 1, 1, 1, 1, 1, 1] : [2, 2, 4, 8, 16, 32, 32, 1];
  const names = [
    'ctx_conv1_1',
    'ctx_conv1_2',
    'ctx_conv2_1',
    'ctx_conv3_1',
    'ctx_conv4_1',
    'ctx_conv5_1',
    'ctx_fc1',
    'ctx_final',
  ];
  const dilations = [1, 1, 2, 4, 8, 16, 1, 1];
  return names.map((name, i) => ({
    name,
    kernel: i === 7 ? 1 : 3,
    dilation: dilations[i]!,
    width: widths[i]!,
  }));
}

/**
 * The identity initialisation of Yu & Koltun (eq. 4 and 5) for a kernel [k, k, cIn, cOut] over C
 * classes: the centre tap carries feature a to feature b with weight C / cOut where
 * floor(a C / cIn) = floor(b C / cOut); every other weight is noise N(0, sigma^2) with sigma much
 * smaller than C / cOut (0 for the basic module, where cIn = cOut = C: the exact identity).
 */
export function identityKernel(
  kernel: number,
  cIn: number,
  cOut: number,
  classes: number,
  rng: Rng,
  noise: number,
): tf.Tensor4D {
  const values = new Float32Array(kernel * kernel * cIn * cOut);
  const sigma = noise * (classes / cOut);
  if (sigma > 0) rng.fillNormal(values, 0, sigma);
  const centre = ((kernel - 1) / 2) * kernel + (kernel - 1) / 2;
  for (let a = 0; a < cIn; a++) {
    for (let b = 0; b < cOut; b++) {
      if (Math.floor((a * classes) / cIn) === Math.floor((b * classes) / cOut)) {
        values[(centre * cIn + a) * cOut + b] = classes / cOut;
      }
    }
  }
  return tf.tensor4d(values, [kernel, kernel, cIn, cOut]);
}

export interface ContextModuleOptions {
  classes: number;
  variant: 'basic' | 'large';
  rng: Rng;
  /** Relative sigma of eq. 5's noise (times C / cOut); 1e-3 by default, ignored by basic. */
  noise?: number;
}

/**
 * Yu & Koltun's context module (ICLR 2016): eight layers on C score maps, 3x3 convolutions with
 * dilations 1, 1, 2, 4, 8, 16, 1 padded to keep the size, each followed by max(., 0), and a final
 * 1x1 conv; basic keeps C channels, large widens to 32C (Table 1). Identity-initialised, so at
 * initialisation it passes its input through (the positive part: the truncations), and training
 * starts from the input's scores.
 */
export class ContextModule extends Layer {
  readonly variant: 'basic' | 'large';
  readonly convs: Conv2d[];

  constructor(options: ContextModuleOptions) {
    super();
    const { classes, variant, rng } = options;
    this.variant = variant;
    const noise = variant === 'basic' ? 0 : (options.noise ?? 1e-3);
    let cIn = classes;
    this.convs = contextLayers(variant).map((spec) => {
      const cOut = spec.width * classes;
      const init = identityKernel(spec.kernel, cIn, cOut, classes, rng.derive(spec.name), noise);
      const conv = this.registerModule(
        spec.name,
        new Conv2d({
          inChannels: cIn,
          outChannels: cOut,
          kernelSize: spec.kernel,
          dilation: spec.dilation,
          padding: (spec.dilation * (spec.kernel - 1)) / 2,
          rng,
          weightInit: () => init,
          biasInit: zeros(),
        }),
      );
      cIn = cOut;
      return conv;
    });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = x;
      this.convs.forEach((conv, i) => {
        h = conv.forward(h, { activation: i < this.convs.length - 1 ? 'relu' : 'linear' });
      });
      return h;
    });
  }
}
