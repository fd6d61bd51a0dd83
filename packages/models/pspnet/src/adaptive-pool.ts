import { ConfigError, InputError } from '@semseg/core';
import { Layer } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The input rows (or columns) averaged into each of `bins` outputs, as PyTorch's
 * `adaptive_avg_pool2d`: bin i covers [floor(i * length / bins), ceil((i + 1) * length / bins)).
 * Bins overlap when `length` is not a multiple of `bins`, and repeat rows when `bins > length`.
 */
export function adaptiveBinEdges(length: number, bins: number): Array<[start: number, end: number]> {
  if (!(Number.isInteger(length) && length > 0 && Number.isInteger(bins) && bins > 0)) {
    throw new ConfigError(`adaptive pooling needs positive integer sizes, got ${length} -> ${bins} bins`);
  }
  const edges: Array<[number, number]> = [];
  for (let i = 0; i < bins; i++) {
    edges.push([Math.floor((i * length) / bins), Math.ceil(((i + 1) * length) / bins)]);
  }
  return edges;
}

/** The [bins, length] averaging matrix along one axis: row i holds 1 / |bin i| over bin i. */
function averagingMatrix(length: number, bins: number): tf.Tensor2D {
  const m = new Float32Array(bins * length);
  adaptiveBinEdges(length, bins).forEach(([start, end], i) => {
    for (let j = start; j < end; j++) m[i * length + j] = 1 / (end - start);
  });
  return tf.tensor2d(m, [bins, length]);
}

/** Applies a [bins, length] matrix along axis 1 of [N, L, W, C]: returns [N, bins, W, C]. */
function poolRows(x: tf.Tensor4D, matrix: tf.Tensor2D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const bins = matrix.shape[0];
  const rowsFirst = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]);
  return tf.transpose(tf.reshape(tf.matMul(matrix, rowsFirst), [bins, n, w, c]), [1, 0, 2, 3]);
}

/**
 * Adaptive average pooling of NHWC input to `size` [h, w] bins (PyTorch's `adaptive_avg_pool2d`,
 * same bin edges for any input size). A bin's mean over a rectangle is the mean over its rows of
 * the means over its columns, so this is two small matmuls, which every backend differentiates.
 */
export function adaptiveAvgPool2d(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [bh, bw] = size;
  return tf.tidy(() => {
    if (bh === 1 && bw === 1) return tf.mean(x, [1, 2], true);
    const rows = bh === h ? x : poolRows(x, averagingMatrix(h, bh));
    if (bw === w) return rows === x ? tf.clone(x) : rows;
    const transposed = tf.transpose(rows, [0, 2, 1, 3]);
    return tf.transpose(poolRows(transposed, averagingMatrix(w, bw)), [0, 2, 1, 3]);
  });
}

/** `adaptiveAvgPool2d` as a layer (PyTorch's `nn.AdaptiveAvgPool2d(bins)`); no parameters. */
export class AdaptiveAvgPool2d extends Layer {
  readonly size: [number, number];

  constructor(size: number | readonly [number, number]) {
    super();
    const [h, w] = typeof size === 'number' ? [size, size] : size;
    if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) {
      throw new ConfigError(`AdaptiveAvgPool2d needs positive integer bins, got ${String(size)}`);
    }
    this.size = [h, w];
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4) throw new InputError(`AdaptiveAvgPool2d expects NHWC input, got rank ${x.rank}`);
    return adaptiveAvgPool2d(x, this.size);
  }
}
