import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Padding4, type Pair, depthToSpace, padOrCrop, spaceToDepth } from './geometry.js';
import { indicatorAtMost, indicatorEqual } from './indicator.js';

export interface PoolGeometry {
  kernel: Pair;
  stride: Pair;
  /** Implicit padding on both sides; padded positions never win the max. */
  padding: Pair;
  /** Round the output size up (Caffe, DeconvNet) instead of down. */
  ceilMode: boolean;
}

/** The lowest float32: padding that never wins a max (and stays finite on every backend). */
const LOWEST = -3.4028234663852886e38;

/**
 * Pooling output length as Caffe and PyTorch compute it; in ceil mode the last window must start
 * inside the input or its left padding.
 */
export function poolOutputLength(
  length: number,
  kernel: number,
  stride: number,
  padding: number,
  ceilMode: boolean,
): number {
  // PyTorch's pooling_output_shape (Caffe's ceil rule agrees): in ceil mode a window larger than
  // the padded input still gives one output when it starts inside the input (2x2 on a 1x1 map).
  const span = length + 2 * padding - kernel;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= length + padding) out -= 1;
  if (out < 1)
    throw new ConfigError(
      `pooling window ${kernel} (stride ${stride}, padding ${padding}${ceilMode ? ', ceil mode' : ''}) is larger than the input ${length}`,
    );
  return out;
}

export function checkPoolGeometry(g: PoolGeometry): void {
  for (let a = 0; a < 2; a++) {
    if (g.padding[a]! * 2 > g.kernel[a]!) {
      throw new ConfigError(`pool padding ${g.padding[a]} must be at most half the kernel ${g.kernel[a]}`);
    }
  }
}

export interface WindowPlan {
  inputSize: Pair;
  outputSize: Pair;
  /** Padding [top, bottom, left, right] that makes every window fit exactly (negative = rows no window reads). */
  padding: Padding4;
}

export function planWindows(inputSize: Pair, g: PoolGeometry): WindowPlan {
  const outputSize: Pair = [
    poolOutputLength(inputSize[0], g.kernel[0], g.stride[0], g.padding[0], g.ceilMode),
    poolOutputLength(inputSize[1], g.kernel[1], g.stride[1], g.padding[1], g.ceilMode),
  ];
  const needH = (outputSize[0] - 1) * g.stride[0] + g.kernel[0];
  const needW = (outputSize[1] - 1) * g.stride[1] + g.kernel[1];
  return {
    inputSize,
    outputSize,
    padding: [
      g.padding[0],
      needH - inputSize[0] - g.padding[0],
      g.padding[1],
      needW - inputSize[1] - g.padding[1],
    ],
  };
}

/** Reads, for window offset (i, j), the input value of every window: [N, OH, OW, C]. */
export type WindowTaps = (i: number, j: number) => tf.Tensor4D;

/**
 * The taps of `padded`'s windows. Stride 1: plain slices. Stride s > 1: the input is split once
 * into its s x s phases (space-to-depth), and each tap is a plain slice of one phase: wasm's
 * StridedSlice is an element-by-element loop, several times slower than slices (a quarter of a
 * DeepLab-LargeFOV training step went to the 3x3/2 pools' strided taps).
 */
export function windowTaps(padded: tf.Tensor4D, plan: WindowPlan, g: PoolGeometry): WindowTaps {
  const [n, h, w, c] = padded.shape;
  const [oh, ow] = plan.outputSize;
  const [sh, sw] = g.stride;
  if (sh === 1 && sw === 1) return (i, j) => tf.slice(padded, [0, i, j, 0], [n, oh, ow, c]);
  // Rows and columns up to a multiple of the stride: every tap's slice stays inside a phase.
  const hq = Math.ceil(h / sh) * sh;
  const wq = Math.ceil(w / sw) * sw;
  const even =
    hq === h && wq === w
      ? padded
      : tf.pad(padded, [
          [0, 0],
          [0, hq - h],
          [0, wq - w],
          [0, 0],
        ]);
  const phases = spaceToDepth(even as tf.Tensor4D, g.stride);
  return (i, j) => {
    const phase = (i % sh) * sw + (j % sw);
    return tf.slice(phases, [0, Math.floor(i / sh), Math.floor(j / sw), phase * c], [n, oh, ow, c]);
  };
}

/**
 * Offset (i * kw + j) in its window of each window's maximum, float32. Ties go to the first
 * offset in row-major order, as Caffe and PyTorch's CPU kernels pick.
 */
function firstMaxOffset(
  padded: tf.Tensor4D,
  pooled: tf.Tensor4D,
  plan: WindowPlan,
  g: PoolGeometry,
): tf.Tensor4D {
  const [kh, kw] = g.kernel;
  const tapAt = windowTaps(padded, plan, g);
  let offset: tf.Tensor4D = tf.fill(pooled.shape, kh * kw) as tf.Tensor4D;
  for (let p = kh * kw - 1; p >= 0; p--) {
    const tap = tapAt(Math.floor(p / kw), p % kw);
    // offset <- p where this tap holds the maximum (arithmetic: a scalar `where` tiles on wasm).
    const hit = indicatorAtMost(tap, pooled);
    offset = tf.add(offset, tf.mul(hit, tf.sub(p, offset))) as tf.Tensor4D;
  }
  return offset;
}

/** Windows tile the padded input exactly (kernel = stride, as VGG's 2x2 pools): no strided taps needed. */
export function tilesExactly(g: PoolGeometry): boolean {
  return g.kernel[0] === g.stride[0] && g.kernel[1] === g.stride[1];
}

/** The windows of a tiled input as rows: [N * OH * OW, kh * kw, C], taps in row-major order. */
export function windowRows(padded: tf.Tensor4D, g: PoolGeometry): tf.Tensor3D {
  const [n, h, w, c] = padded.shape;
  const [kh, kw] = g.kernel;
  return tf.reshape(spaceToDepth(padded, g.kernel), [(n * h * w) / (kh * kw), kh * kw, c]);
}

/** Inverse of windowRows, then cut to the input: [N * OH * OW, taps, C] -> [N, H, W, C]. */
export function rowsToInput(
  rows: tf.Tensor3D,
  windowShape: readonly number[],
  plan: WindowPlan,
  g: PoolGeometry,
): tf.Tensor4D {
  const [n, oh, ow, c] = windowShape as [number, number, number, number];
  const full = depthToSpace(tf.reshape(rows, [n, oh, ow, rows.shape[1] * c]), g.kernel);
  return cropToInput(full, plan);
}

function cropToInput(full: tf.Tensor4D, plan: WindowPlan): tf.Tensor4D {
  const [, fullH, fullW] = full.shape;
  const [top, , left] = plan.padding;
  const [h, w] = plan.inputSize;
  return padOrCrop(full, [-top, h + top - fullH, -left, w + left - fullW]);
}

/**
 * Scores of each window row [M, taps, C]: taps - tap at the maxima, 0 elsewhere, so the first
 * maximum scores highest. (No cumsum: its WebGPU shader does not compile in tfjs 4.22.)
 */
function maximaScores(rows: tf.Tensor3D, pooled: tf.Tensor4D): tf.Tensor3D {
  const [m, taps, c] = rows.shape;
  const isMax = indicatorAtMost(rows, tf.reshape(pooled, [m, 1, c]));
  return tf.mul(isMax, tf.sub(taps, tapIndex(taps))) as tf.Tensor3D;
}

/** One-hot [M, taps, C] of the first maximum of each window row. */
function firstMaxMask(rows: tf.Tensor3D, pooled: tf.Tensor4D): tf.Tensor3D {
  const score = maximaScores(rows, pooled);
  return indicatorAtMost(score, tf.max(score, 1, true)) as tf.Tensor3D;
}

/** Tap numbers 0..taps-1 shaped [1, taps, 1]. */
export function tapIndex(taps: number): tf.Tensor3D {
  return tf.reshape(tf.range(0, taps, 1, 'float32'), [1, taps, 1]);
}

/**
 * Puts per-window values back on the input grid. `valueAt(p)` gives, for window offset p, the
 * value each window sends to that offset (zero where it sends nothing). `add` sums what
 * overlapping windows send (a gradient); `overwrite` keeps the value of the latest window in
 * raster order, as PyTorch's max_unpool on the CPU. Polyphase: offsets are grouped by the block
 * of `stride` they land in, each group is shifted once and the phases go to space together.
 */
export function scatterWindows(
  valueAt: (p: number) => tf.Tensor4D,
  hitAt: ((p: number) => tf.Tensor4D) | null,
  windowShape: readonly [number, number, number, number],
  plan: WindowPlan,
  g: PoolGeometry,
): tf.Tensor4D {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const mh = Math.ceil(kh / sh);
  const mw = Math.ceil(kw / sw);
  const zeros = tf.zeros([...windowShape]) as tf.Tensor4D;
  const group = (a: number, b: number, source: (p: number) => tf.Tensor4D): tf.Tensor4D => {
    const phases: tf.Tensor4D[] = [];
    for (let r = 0; r < sh; r++) {
      for (let q = 0; q < sw; q++) {
        const i = a * sh + r;
        const j = b * sw + q;
        phases.push(i < kh && j < kw ? source(i * kw + j) : zeros);
      }
    }
    const stacked = phases.length === 1 ? phases[0]! : tf.concat4d(phases, 3);
    return padOrCrop(stacked, [a, mh - 1 - a, b, mw - 1 - b]);
  };
  let total: tf.Tensor4D | null = null;
  // Earliest windows first, so that in overwrite mode the latest window in raster order wins.
  for (let a = mh - 1; a >= 0; a--) {
    for (let b = mw - 1; b >= 0; b--) {
      const values = group(a, b, valueAt);
      if (total === null) total = values;
      else if (hitAt === null) total = tf.add(total, values) as tf.Tensor4D;
      else total = tf.add(tf.mul(total, tf.sub(1, group(a, b, hitAt))), values) as tf.Tensor4D;
    }
  }
  return cropToInput(depthToSpace(total!, g.stride), plan);
}

/**
 * Max pooling (NHWC) with Caffe/PyTorch padding and ceil mode. Its gradient goes to the first
 * maximum of each window and sums over overlapping windows, computed from tfjs forward ops only:
 * it does not use the backends' MaxPoolGrad (wrong on wasm where a window's maximum is negative).
 */
export function maxPool2d(x: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  checkPoolGeometry(g);
  const plan = planWindows([x.shape[1], x.shape[2]], g);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const padded = padOrCrop(input, plan.padding, LOWEST);
    const pooled = tf.maxPool(padded, g.kernel, g.stride, 'valid');
    save([padded, pooled]);
    return {
      value: pooled,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dy4 = dy as tf.Tensor4D;
        const [n, oh, ow, c] = dy4.shape;
        if (tilesExactly(g)) {
          const mask = firstMaxMask(windowRows(saved[0] as tf.Tensor4D, g), saved[1] as tf.Tensor4D);
          return rowsToInput(
            tf.mul(mask, tf.reshape(dy4, [n * oh * ow, 1, c])) as tf.Tensor3D,
            dy4.shape,
            plan,
            g,
          );
        }
        const offsets = firstMaxOffset(saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D, plan, g);
        return scatterWindows(
          (p) => tf.mul(dy4, indicatorEqual(offsets, p)) as tf.Tensor4D,
          null,
          dy4.shape,
          plan,
          g,
        );
      },
    };
  });
  return tf.tidy(() => op(x) as tf.Tensor4D);
}

export interface PooledWithSwitches {
  output: tf.Tensor4D;
  /**
   * int32 [N, OH, OW, C]: where each maximum came from, as PyTorch's `return_indices`: the index
   * h * W + w in its sample's channel plane of the (unpadded) input.
   */
  switches: tf.Tensor4D;
}

/** Max pooling that also returns the switches (argmax positions) for unpooling. */
export function maxPool2dWithSwitches(x: tf.Tensor4D, g: PoolGeometry): PooledWithSwitches {
  return tf.tidy(() => ({
    output: maxPool2d(x, g),
    switches: untracked(x, (input) => switchesOf(input, g)),
  }));
}

function switchesOf(x: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  const plan = planWindows([x.shape[1], x.shape[2]], g);
  const padded = padOrCrop(x, plan.padding, LOWEST);
  const pooled = tf.maxPool(padded, g.kernel, g.stride, 'valid');
  const [oh, ow] = plan.outputSize;
  const taps = g.kernel[0] * g.kernel[1];
  // The best score is taps - (offset of the first maximum).
  const offsets = tilesExactly(g)
    ? tf.reshape(tf.sub(taps, tf.max(maximaScores(windowRows(padded, g), pooled), 1)), pooled.shape)
    : firstMaxOffset(padded, pooled, plan, g);
  const kw = g.kernel[1];
  const rowTap = tf.floor(tf.div(offsets, kw));
  const colTap = tf.sub(offsets, tf.mul(rowTap, kw));
  const rows = tf.add(windowOrigins(oh, g.stride[0], g.padding[0], [1, oh, 1, 1]), rowTap);
  const cols = tf.add(windowOrigins(ow, g.stride[1], g.padding[1], [1, 1, ow, 1]), colTap);
  return tf.cast(tf.add(tf.mul(rows, x.shape[2]), cols), 'int32') as tf.Tensor4D;
}

/**
 * Computes an index-valued function of x off the gradient tape (one node with a zero gradient):
 * tfjs has no gradient for comparisons, and a tape that recorded them on a path to the loss would
 * refuse to differentiate.
 */
export function untracked(x: tf.Tensor4D, fn: (input: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    return { value: fn(input), gradFunc: () => tf.zerosLike(input) };
  });
  return op(x) as tf.Tensor4D;
}

/** Input coordinate of each window's first row (or column), o * stride - padding, shaped to broadcast. */
export function windowOrigins(count: number, stride: number, padding: number, shape: number[]): tf.Tensor {
  const origins = new Float32Array(count);
  for (let o = 0; o < count; o++) origins[o] = o * stride - padding;
  return tf.tensor(origins, shape);
}
