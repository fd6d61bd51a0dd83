import * as tf from '@tensorflow/tfjs-core';
import type { ConvGeometry } from './conv.js';

/**
 * Input gradient of a stride-1 convolution as one matrix product and a col2im: the output
 * gradient's rows [N*OH*OW, Cout] times the filter as [Cout, kh*kw*Cin] give every tap's
 * contribution, which is then added back at its input position.
 *
 * Why: for layers whose filter dwarfs their activations (FCN's and DeconvNet's 7x7x512x4096 fc6 on
 * a few pixels) the cost of the usual route (rotate the filter, swap its channel axes, pack it
 * for a convolution) is passes over the filter, the same for a batch of 1 as of 8. This route
 * makes one transpose and one pack of it (tfjs-wasm's fast matmul takes untransposed operands
 * only), and its col2im works on activations, which are small here.
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
    const filterRows = tf.transpose(tf.reshape(filter, [taps * ci, co]));
    const cols = tf.matMul(tf.reshape(dy, [n * oh * ow, co]), filterRows);
    // Tap-major, so that each tap's contribution is one contiguous slice.
    const byTap = tf.transpose(tf.reshape(cols, [n * oh * ow, taps, ci]), [1, 0, 2]);
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
        const tap = tf.reshape(tf.slice(byTap, [i * kw + j, 0, 0], [1, n * oh * ow, ci]), [n, oh, ow, ci]);
        const inside = tf.slice(tap, [0, y0, x0, 0], [n, y1 - y0, x1 - x0, ci]);
        parts.push(
          tf.pad(inside, [
            [0, 0],
            [top + y0, h - (top + y1)],
            [left + x0, w - (left + x1)],
            [0, 0],
          ]) as tf.Tensor4D,
        );
      }
    }
    if (parts.length === 0) return tf.zeros([n, h, w, ci]) as tf.Tensor4D;
    return (parts.length === 1 ? parts[0]! : tf.addN(parts)) as tf.Tensor4D;
  });
}

/**
 * Whether the gemm route is cheaper: stride 1, more than one tap, and a filter large against the
 * output gradient (fewer output pixels than output channels / 8, as fc6 on 3x3 maps; ordinary
 * convolutions on feature maps stay on the conv route).
 */
export function prefersGemmInputGradient(
  dyShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  const [kh, kw, , co] = filterShape;
  if (geometry.stride[0] !== 1 || geometry.stride[1] !== 1 || kh * kw === 1) return false;
  const pixels = dyShape[0]! * dyShape[1]! * dyShape[2]!;
  return pixels * 8 <= co;
}
