import * as tf from '@tensorflow/tfjs-core';
import type { ValidConv } from './conv.js';
import { rotate180 } from './flip.js';
import { type Pair, depthToSpace, effectiveKernel, padOrCrop } from './geometry.js';

/** Inserts dilation - 1 zeros between the taps of a [kh, kw, a, b] kernel. */
export function dilateKernel(kernel: tf.Tensor4D, [dh, dw]: Pair): tf.Tensor4D {
  let out = kernel;
  const [kh, kw, a, b] = kernel.shape;
  if (dh > 1) {
    const rows = tf.pad(tf.reshape(out, [kh, 1, kw * a * b]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
    ]);
    out = tf.slice(
      tf.reshape(rows, [kh * dh, kw, a, b]),
      [0, 0, 0, 0],
      [effectiveKernel(kh, dh), kw, a, b],
    ) as tf.Tensor4D;
  }
  if (dw > 1) {
    const height = out.shape[0];
    const cols = tf.pad(tf.reshape(out, [height, kw, 1, a * b]), [
      [0, 0],
      [0, 0],
      [0, dw - 1],
      [0, 0],
    ]);
    out = tf.slice(
      tf.reshape(cols, [height, kw * dw, a, b]),
      [0, 0, 0, 0],
      [height, effectiveKernel(kw, dw), a, b],
    ) as tf.Tensor4D;
  }
  return out;
}

/**
 * A window of the transposed convolution of `y` with `kernel` ([kh, kw, Cx, Cy], the HWIO filter of
 * the forward conv x -> y): out[j] = sum over o, k with o*stride + k*dilation = start + j of
 * y[o] * kernel[k], for j in [0, size). This is a forward conv's input gradient and
 * ConvTranspose2d's forward pass.
 *
 * Stride 1: one forward conv with the rotated kernel (dilation kept). Stride s > 1: polyphase, a
 * forward conv producing s*s output phases as channels, then depth-to-space; this does none of
 * the multiply-by-zero work of zero insertion.
 */
export function transposedConvWindow(
  y: tf.Tensor4D,
  kernel: tf.Tensor4D,
  stride: Pair,
  dilation: Pair,
  start: Pair,
  size: Pair,
  conv: ValidConv,
): tf.Tensor4D {
  const [, oh, ow] = y.shape;
  const [kh, kw, cx, cy] = kernel.shape;
  if (stride[0] === 1 && stride[1] === 1) {
    const keh = effectiveKernel(kh, dilation[0]);
    const kew = effectiveKernel(kw, dilation[1]);
    const flipped = tf.transpose(rotate180(kernel), [0, 1, 3, 2]);
    const top = keh - 1 - start[0];
    const left = kew - 1 - start[1];
    const padded = padOrCrop(y, [top, size[0] + start[0] - oh, left, size[1] + start[1] - ow]);
    return conv(padded, flipped, [1, 1], dilation);
  }
  const dilated = dilateKernel(kernel, dilation);
  const [keh, kew] = dilated.shape;
  const [sh, sw] = stride;
  const mh = Math.ceil(keh / sh);
  const mw = Math.ceil(kew / sw);
  // Tap k = a*s + r lands on phase r of the block a blocks after the input position.
  const padded = tf.pad(dilated, [
    [0, mh * sh - keh],
    [0, mw * sw - kew],
    [0, 0],
    [0, 0],
  ]);
  // [mh, sh, mw, sw, cx, cy] -> [mh, mw, cy, sh, sw, cx] as two rank-4 transposes: wasm's
  // Transpose of rank 6 is a generic loop, 15x slower (7.8 ms against 0.5 for FCN's 16x16x21x21).
  const cyFirst = tf.transpose(tf.reshape(padded, [mh * sh, mw, sw * cx, cy]), [0, 1, 3, 2]);
  const phases = tf.transpose(tf.reshape(cyFirst, [mh, sh, mw * cy, sw * cx]), [0, 2, 1, 3]);
  const blockKernel = rotate180(tf.reshape(phases, [mh, mw, cy, sh * sw * cx]) as tf.Tensor4D);
  const firstH = Math.floor(start[0] / sh);
  const firstW = Math.floor(start[1] / sw);
  const blocksH = Math.ceil((start[0] + size[0]) / sh) - firstH;
  const blocksW = Math.ceil((start[1] + size[1]) / sw) - firstW;
  const top = mh - 1 - firstH;
  const left = mw - 1 - firstW;
  const input = padOrCrop(y, [top, blocksH + mh - 1 - top - oh, left, blocksW + mw - 1 - left - ow]);
  const blocks = conv(input, blockKernel, [1, 1], [1, 1]);
  const full = depthToSpace(blocks, stride);
  const offsetH = start[0] - firstH * sh;
  const offsetW = start[1] - firstW * sw;
  return padOrCrop(full, [
    -offsetH,
    -(blocksH * sh - offsetH - size[0]),
    -offsetW,
    -(blocksW * sw - offsetW - size[1]),
  ]);
}
