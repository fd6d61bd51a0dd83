import * as tf from '@tensorflow/tfjs-core';
import { rotate180 } from './flip.js';
import type { Pair } from './geometry.js';

/**
 * Zeros inserted between the rows and columns of dy ([N, OH, OW, C] -> [N, (OH-1)s+1, (OW-1)s+1, C]):
 * the output gradient of a stride-s convolution laid out at stride 1.
 */
function spreadByStride(dy: tf.Tensor4D, [sh, sw]: Pair): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.slice(
    tf.reshape(spread, [n, oh * sh, ow * sw, c]),
    [0, 0, 0, 0],
    [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c],
  ) as tf.Tensor4D;
}

/** dL/dx of a valid depthwise conv: the spread output gradient, padded, convolved with the rotated filter. */
function depthwiseInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  stride: Pair,
  inputShape: readonly number[],
): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const spread = spreadByStride(dy, stride);
  const [, lh, lw] = spread.shape;
  // Rows the forward windows never reached (the stride's remainder) get zeros.
  const padded = tf.pad(spread, [
    [0, 0],
    [kh - 1, inputShape[1]! - lh],
    [kw - 1, inputShape[2]! - lw],
    [0, 0],
  ]);
  return tf.depthwiseConv2d(padded, rotate180(filter), 1, 'valid');
}

/** dL/dW of a valid depthwise conv, one kernel tap at a time: sum over pixels of x(shifted) * dy. */
function depthwiseFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  [sh, sw]: Pair,
  [kh, kw]: Pair,
): tf.Tensor4D {
  const [n, oh, ow, c] = dy.shape;
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      taps.push(
        tf.tidy(() => {
          const shifted =
            sh === 1 && sw === 1
              ? tf.slice(x, [0, i, j, 0], [n, oh, ow, c])
              : tf.stridedSlice(
                  x,
                  [0, i, j, 0],
                  [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c],
                  [1, sh, sw, 1],
                );
          return tf.sum(tf.mul(shifted, dy), [0, 1, 2]);
        }),
      );
    }
  }
  return tf.reshape(tf.stack(taps), [kh, kw, c, 1]) as tf.Tensor4D;
}

/**
 * Depthwise convolution (NHWC input, [kh, kw, C, 1] filter, 'valid' padding, dilation 1) whose
 * gradients are forward ops: tfjs-backend-wasm has no DepthwiseConv2dNativeBackprop kernels, so
 * tf.depthwiseConv2d cannot train there (MobileNetV3 models). Values equal tf.depthwiseConv2d.
 */
export function trainableDepthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: Pair): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const kernel = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([input, kernel]);
    return {
      value: tf.depthwiseConv2d(input, kernel, stride, 'valid'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const savedInput = saved[0] as tf.Tensor4D;
        const savedKernel = saved[1] as tf.Tensor4D;
        const dy4 = dy as tf.Tensor4D;
        return [
          tf.tidy(() => depthwiseInputGradient(dy4, savedKernel, stride, savedInput.shape)),
          tf.tidy(() => depthwiseFilterGradient(savedInput, dy4, stride, [kh, kw])),
        ];
      },
    };
  });
  return tf.tidy(() => op(x, filter) as tf.Tensor4D);
}
