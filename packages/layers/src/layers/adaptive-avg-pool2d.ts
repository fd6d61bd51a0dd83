import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Pair, type PairLike, toPositivePair } from '../ops/geometry.js';
import { Layer } from './layer.js';

/**
 * PyTorch's adaptive average pooling bins along one axis as an [outLength, inLength] matrix: bin i
 * averages input [floor(i L / n), ceil((i + 1) L / n)), so bins may overlap (PSPNet's 3 and 6 bins).
 */
export function adaptivePoolMatrix(inLength: number, outLength: number): Float32Array {
  const m = new Float32Array(outLength * inLength);
  for (let i = 0; i < outLength; i++) {
    const start = Math.floor((i * inLength) / outLength);
    const end = Math.ceil(((i + 1) * inLength) / outLength);
    for (let j = start; j < end; j++) m[i * inLength + j] = 1 / (end - start);
  }
  return m;
}

/**
 * torch.nn.functional.adaptive_avg_pool2d on NHWC: output size [h, w] whatever the input size.
 * Size 1 is a mean over H and W; other sizes are two small matmuls, differentiable everywhere.
 */
export function adaptiveAvgPool2d(x: tf.Tensor4D, outputSize: Pair): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [oh, ow] = outputSize;
  if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh > 0 && ow > 0)) {
    throw new ConfigError(`adaptive pooling size must be positive integers, got [${outputSize}]`);
  }
  return tf.tidy(() => {
    if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true) as tf.Tensor4D;
    // Rows: [oh, h] x [h, n * w * c]; then columns the same way on the transposed result.
    const rows = tf.matMul(
      tf.tensor2d(adaptivePoolMatrix(h, oh), [oh, h]),
      tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]),
    );
    const byColumn = tf.reshape(tf.transpose(tf.reshape(rows, [oh, n, w, c]), [2, 1, 0, 3]), [w, n * oh * c]);
    const cols = tf.matMul(tf.tensor2d(adaptivePoolMatrix(w, ow), [ow, w]), byColumn);
    return tf.transpose(tf.reshape(cols, [ow, n, oh, c]), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** torch.nn.AdaptiveAvgPool2d: a fixed output size (1 for image pooling, 1/2/3/6 for PSPNet). */
export class AdaptiveAvgPool2d extends Layer {
  readonly outputSize: Pair;

  constructor(outputSize: PairLike) {
    super();
    this.outputSize = toPositivePair(outputSize, 'outputSize');
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}
