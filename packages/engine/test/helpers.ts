import { Module, type Normalization, type Rng, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

export const PLAIN: Normalization = { mean: [0, 0, 0], std: [1, 1, 1], scale: 255, channelOrder: 'rgb' };

/** A per-pixel model (a 1x1 conv): translation-equivariant, so sliding windows must equal whole-image inference. */
export class PixelModel extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly weight: tf.Variable;
  constructor(numClasses: number, rng: Rng) {
    super();
    this.numClasses = numClasses;
    this.weight = this.registerParameter(
      'weight',
      tf.tensor2d(rng.fillNormal(new Float32Array(3 * numClasses), 0, 0.02), [3, numClasses]),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w] = x.shape;
      return tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), this.weight), [
        n,
        h,
        w,
        this.numClasses,
      ]) as tf.Tensor4D;
    });
  }
}

export function randomImage(
  width: number,
  height: number,
  rng: Rng,
): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width, height, data };
}
