// The Caffe DeepLab layers that tfjs has no exact counterpart for, written over differentiable
// tfjs ops: Interp (bilinear with aligned corners), label shrinking, AVE pooling with Caffe's
// divisor, and the input padding DeepLab's data layer applies.
import { resize } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/** DeepLab's normalisation: BGR on 0..255 minus (104.008, 116.669, 122.675), as its data layers. */
export const DEEPLAB_NORMALIZATION = {
  mean: [122.675, 116.669, 104.008] as [number, number, number],
  std: [1, 1, 1] as [number, number, number],
  scale: 255 as const,
  channelOrder: 'bgr' as const,
};

/** Caffe Interp with `zoom_factor: z`: n -> n + (n - 1)(z - 1). */
export function interpZoomLength(n: number, zoom: number): number {
  return n + (n - 1) * (zoom - 1);
}

/** The smallest 8k + 1 at least n: the sizes on which stride-8 DeepLab is exactly aligned. */
export function alignedLength(n: number): number {
  return 8 * Math.ceil((n - 1) / 8) + 1;
}

/**
 * Caffe's Interp layer (DeepLab fork): bilinear interpolation with aligned corners, input corner
 * pixels on output corner pixels. Differentiable (two matmuls).
 */
export function interp(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  if (x.shape[1] === size[0] && x.shape[2] === size[1]) return tf.clone(x);
  return resize(x, [size[0], size[1]], { mode: 'bilinear', alignCorners: true });
}

/** Output index i of an aligned-corner resize from `from` to `to` samples input index round(i (from-1)/(to-1)). */
function alignedIndices(from: number, to: number): Int32Array {
  const out = new Int32Array(to);
  const scale = to > 1 ? (from - 1) / (to - 1) : 0;
  for (let i = 0; i < to; i++) out[i] = Math.min(from - 1, Math.round(i * scale));
  return out;
}

/**
 * Labels shrunk to a score map's size as DeepLab's `label_shrink` Interp layer does: aligned
 * corners, so on 8k+1 crops (321 -> 41) output i takes input label 8i exactly. Where the source
 * coordinate is fractional, Caffe would blend label ids bilinearly (meaningless numbers); this
 * takes the nearest label instead, which equals Caffe wherever Caffe's weights are 0 and 1.
 */
export function shrinkLabels(labels: tf.Tensor3D, size: readonly [number, number]): tf.Tensor3D {
  const [, h, w] = labels.shape;
  if (h === size[0] && w === size[1]) return tf.clone(labels);
  return tf.tidy(() => {
    const rows = tf.gather(labels, tf.tensor1d(alignedIndices(h, size[0]), 'int32'), 1);
    return tf.gather(rows, tf.tensor1d(alignedIndices(w, size[1]), 'int32'), 2) as tf.Tensor3D;
  });
}

/**
 * Caffe AVE pooling, 3x3 stride 1 pad 1 (DeepLab-LargeFOV's pool5a): Caffe divides by the window
 * clipped to the padded input, which for these settings is always 9 (zeros of the padding count),
 * unlike tfjs's 'same' average pooling. Nine shifted slices: differentiable on every backend.
 */
export function caffeAveragePool3x3(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    const taps: tf.Tensor4D[] = [];
    for (let dy = 0; dy < 3; dy++)
      for (let dx = 0; dx < 3; dx++) taps.push(tf.slice(padded, [0, dy, dx, 0], [-1, h, w, -1]));
    return tf.mul(tf.addN(taps), 1 / 9) as tf.Tensor4D;
  });
}

/** Pads images (zeros: the mean colour once normalised) at the bottom and right to `size`. */
export function padImages(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === size[0] && w === size[1]) return tf.clone(x);
  return tf.pad(x, [
    [0, 0],
    [0, size[0] - h],
    [0, size[1] - w],
    [0, 0],
  ]);
}

/** Pads labels with 255 (ignored) at the bottom and right to `size`, as DeepLab's data layer. */
export function padLabels(labels: tf.Tensor3D, size: readonly [number, number]): tf.Tensor3D {
  const [, h, w] = labels.shape;
  if (h === size[0] && w === size[1]) return tf.clone(labels);
  return tf.pad(
    labels,
    [
      [0, 0],
      [0, size[0] - h],
      [0, size[1] - w],
    ],
    255,
  );
}

/** The top-left `height` x `width` window of a map. */
export function cropTopLeft<T extends tf.Tensor4D | tf.Tensor3D>(x: T, height: number, width: number): T {
  if (x.shape[1] === height && x.shape[2] === width) return tf.clone(x);
  const begin = x.rank === 4 ? [0, 0, 0, 0] : [0, 0, 0];
  const size = x.rank === 4 ? [-1, height, width, -1] : [-1, height, width];
  return tf.slice(x, begin, size) as T;
}
