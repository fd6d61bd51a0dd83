import { CONV_WINDOWS, type ConvWindowsAttrs, hasConvWindows } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ConvGeometry } from './conv.js';
import { effectiveKernel, padOrCrop } from './geometry.js';

// Convolutions whose filter dwarfs their activations (FCN's and DeconvNet's 7x7x512x4096 fc6 and
// 1x1 fc7 on a few pixels) as matrix products in which the filter is the left operand.
//
// Why: tfjs-wasm's fast matmul is XNNPACK's fully-connected operator, which packs its right
// operand (treated as the weights) and caches the packing by tensor id; every other layout falls
// to a naive loop. Its Conv2D packs the filter the same way. While training, the filter is a new
// tensor every step, so each step pays a pack of the whole filter per use (fc6 at w1/4: ~45 ms in
// the forward, ~60 ms in the input gradient as dy . W^T, measured), the same for a batch of 1 as of
// 8. With the filter on the left, only the small activation matrix is packed: the input gradient
// reads the filter as it is stored ([kh*kw*Cin, Cout]), and the forward pays one transpose of it.
// The filter gradient is a product of two activation matrices whose result is filter-sized:
// as windows^T . dy it comes out in HWIO order, where the conv formulation (N as its channels)
// ran 2-3x slower at batch 4 and needed a transpose of the filter-sized result after it.

/**
 * Whether the gemm routes are cheaper: stride 1 and a filter large against the activations (fewer
 * output pixels than output channels / 8, as fc6/fc7 on 3x3 maps); ordinary convolutions on
 * feature maps stay on the conv route.
 */
export function prefersGemm(
  outputShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  const co = filterShape[3];
  if (geometry.stride[0] !== 1 || geometry.stride[1] !== 1) return false;
  const pixels = outputShape[0]! * outputShape[1]! * outputShape[2]!;
  return pixels * 8 <= co;
}

/** Filters of at least this many elements (4 MB as float32) outgrow a core's L2 cache. */
const LARGE_FILTER = 1 << 20;

/**
 * Whether the input gradient is cheaper as gemm + col2im: where `prefersGemm` says so, and also
 * for a filter larger than a core's cache on a map of no more pixels than its output channels
 * (VGG's conv5 at 14x14: 512x512 filters on 196 pixels; DeepLab-LargeFOV's fc6 at batch 4). The
 * conv route rotates and transposes such a filter and XNNPACK repacks it for every call, which
 * costs about what the convolution does. Measured on wasm: conv5_x's input gradient at 1x14x14
 * 76 ms by conv, 39 by gemm (its forward 42); DeepLab-LargeFOV w1/4's fc6 at batch 4 82 -> 59;
 * at 28x28 (VGG's conv4) and at batch 8 (fc6) the two routes were within 5%.
 */
export function prefersGemmInputGradient(
  outputShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  if (prefersGemm(outputShape, filterShape, geometry)) return true;
  if (geometry.stride[0] !== 1 || geometry.stride[1] !== 1) return false;
  const [kh, kw, ci, co] = filterShape;
  const pixels = outputShape[0]! * outputShape[1]! * outputShape[2]!;
  return kh * kw * ci * co >= LARGE_FILTER && pixels <= co;
}

/** Output [N, OH, OW] of a stride-1 convolution of `x` with a filter of this size and geometry. */
export function stride1Output(
  inputShape: readonly [number, number, number, number],
  [kh, kw]: readonly [number, number, number, number],
  { dilation, padding }: ConvGeometry,
): [number, number, number] {
  const [n, h, w] = inputShape;
  return [
    n,
    h + padding[0] + padding[1] - effectiveKernel(kh, dilation[0]) + 1,
    w + padding[2] + padding[3] - effectiveKernel(kw, dilation[1]) + 1,
  ];
}

/**
 * The windows of a stride-1 convolution transposed, [kh*kw*Cin, N*OH*OW]: row (tap, channel),
 * column (image, y, x), in the order of the HWIO filter flattened to [kh*kw*Cin, Cout]. On wasm one
 * kernel writes it from the channels-first input (core's CONV_WINDOWS); elsewhere the input's
 * channels-first taps, padded, sliced and stacked (the same values).
 */
export function windowsTransposed(
  x: tf.Tensor4D,
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor2D {
  return tf.tidy(() => windowsTransposedUntidy(x, filterShape, geometry));
}

function windowsTransposedUntidy(
  x: tf.Tensor4D,
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): tf.Tensor2D {
  const [kh, kw, ci] = filterShape;
  const [n, oh, ow] = stride1Output(x.shape, filterShape, geometry);
  const { dilation, padding } = geometry;
  if (hasConvWindows()) {
    const attrs: ConvWindowsAttrs = {
      kernel: [kh, kw],
      dilation: [dilation[0], dilation[1]],
      offset: [padding[0], padding[2]],
      output: [oh, ow],
    };
    const channelsFirst = tf.transpose(x, [3, 0, 1, 2]);
    return tf
      .engine()
      .runKernel(CONV_WINDOWS, { x: channelsFirst }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
  }
  const [, h, w] = x.shape;
  const pixels = n * oh * ow;
  const needH = oh + (kh - 1) * dilation[0];
  const needW = ow + (kw - 1) * dilation[1];
  const xp = padOrCrop(x, [padding[0], needH - h - padding[0], padding[2], needW - w - padding[2]]);
  const channelsFirst = tf.transpose(xp, [3, 0, 1, 2]);
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const tap =
        kh * kw === 1
          ? channelsFirst
          : tf.slice(channelsFirst, [0, 0, i * dilation[0], j * dilation[1]], [ci, n, oh, ow]);
      taps.push(tf.reshape(tap, [ci, pixels]) as tf.Tensor2D);
    }
  return taps.length === 1 ? taps[0]! : (tf.concat(taps, 0) as tf.Tensor2D);
}

/**
 * Forward of a stride-1 convolution as out^T = W^T . cols^T: one transpose of the filter and a
 * matmul that packs only the windows. For a filter that changes every call (training); a fixed
 * filter is faster on tfjs's conv, whose packing is cached.
 */
export function convForwardByGemm(x: tf.Tensor4D, filter: tf.Tensor4D, geometry: ConvGeometry): tf.Tensor4D {
  if (geometry.stride[0] !== 1 || geometry.stride[1] !== 1)
    throw new Error('convForwardByGemm: stride 1 only');
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filter.shape;
    const [n, oh, ow] = stride1Output(x.shape, filter.shape, geometry);
    const filterT = tf.transpose(tf.reshape(filter, [kh * kw * ci, co]));
    const outT = tf.matMul(filterT, windowsTransposed(x, filter.shape, geometry));
    return tf.reshape(tf.transpose(outT), [n, oh, ow, co]) as tf.Tensor4D;
  });
}

/**
 * Filter gradient of a stride-1 convolution as one matrix product, dW = cols^T . dy: the windows
 * [kh*kw*Cin, N*OH*OW] times the output gradient [N*OH*OW, Cout], already in HWIO order. The
 * windows are built transposed (`windowsTransposed`); the packed (right) operand is the output
 * gradient.
 */
export function convFilterGradientByGemm(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  { stride, dilation, padding }: ConvGeometry,
  filterShape: readonly [number, number, number, number],
): tf.Tensor4D {
  if (stride[0] !== 1 || stride[1] !== 1) throw new Error('convFilterGradientByGemm: stride 1 only');
  return tf.tidy(() => {
    const co = filterShape[3];
    const [n, oh, ow] = dy.shape;
    const pixels = n * oh * ow;
    const colsT = windowsTransposed(x, filterShape, { stride, dilation, padding });
    const grad = tf.matMul(colsT, tf.reshape(dy, [pixels, co]));
    return tf.reshape(grad, [...filterShape]) as tf.Tensor4D;
  });
}

/**
 * Input gradient of a stride-1 convolution as one matrix product and a col2im: the filter
 * [kh*kw*Cin, Cout] times the output gradient's transpose [Cout, N*OH*OW] gives every tap's
 * contribution, which is then added back at its input position (on activations, small here).
 */
export function convInputGradientByGemm(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  { stride, dilation, padding }: ConvGeometry,
  inputShape: readonly [number, number, number, number],
): tf.Tensor4D {
  if (stride[0] !== 1 || stride[1] !== 1) throw new Error('convInputGradientByGemm: stride 1 only');
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filter.shape;
    const [n, oh, ow] = dy.shape;
    const [, h, w] = inputShape;
    const taps = kh * kw;
    const pixels = n * oh * ow;
    const colsT = tf.matMul(tf.reshape(filter, [taps * ci, co]), tf.transpose(tf.reshape(dy, [pixels, co])));
    // Tap-major, so that each tap's contribution is one contiguous slice.
    const byTap = tf.transpose(tf.reshape(colsT, [taps, ci, pixels]), [0, 2, 1]);
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // Output (y, x) reads input (y + i*dh - top, x + j*dw - left) through this tap.
        const top = i * dilation[0] - padding[0];
        const left = j * dilation[1] - padding[2];
        const y0 = Math.max(0, -top);
        const y1 = Math.min(oh, h - top);
        const x0 = Math.max(0, -left);
        const x1 = Math.min(ow, w - left);
        if (y1 <= y0 || x1 <= x0) continue; // this tap only ever reads padding
        const tap = tf.reshape(tf.slice(byTap, [i * kw + j, 0, 0], [1, pixels, ci]), [
          n,
          oh,
          ow,
          ci,
        ]) as tf.Tensor4D;
        const inside: tf.Tensor4D =
          y0 === 0 && x0 === 0 && y1 === oh && x1 === ow
            ? tap
            : tf.slice(tap, [0, y0, x0, 0], [n, y1 - y0, x1 - x0, ci]);
        const margins: [[number, number], [number, number], [number, number], [number, number]] = [
          [0, 0],
          [top + y0, h - (top + y1)],
          [left + x0, w - (left + x1)],
          [0, 0],
        ];
        parts.push(
          margins.every(([a, b]) => a === 0 && b === 0) ? inside : (tf.pad(inside, margins) as tf.Tensor4D),
        );
      }
    }
    if (parts.length === 0) return tf.zeros([n, h, w, ci]) as tf.Tensor4D;
    return (parts.length === 1 ? parts[0]! : tf.addN(parts)) as tf.Tensor4D;
  });
}
