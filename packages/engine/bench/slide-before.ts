// The sliding-window accumulation as it was before the running sum (engine 0.1.0): every window's
// padded full-size logits and every partial sum stay alive until the image is done. Kept to
// measure against (bench/sliding-window.bench.ts) and to check the new code gives the same bits.
import type { SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { windowStarts } from '../src/inference/windows.js';
import type { InferenceOptions } from '../src/types.js';

/** How many windows cover each pixel (host arithmetic; uploaded once). */
function coverage(
  height: number,
  width: number,
  corners: ReadonlyArray<[number, number]>,
  crop: readonly [number, number],
): Float32Array {
  const count = new Float32Array(height * width);
  for (const [y0, x0] of corners) {
    for (let y = y0; y < y0 + crop[0]; y++)
      for (let x = x0; x < x0 + crop[1]; x++) count[y * width + x]! += 1;
  }
  return count;
}

/**
 * Logits of one [1, H, W, 3] input by overlapping windows, averaged where they overlap
 * (mmsegmentation's slide inference). Everything stays on the device: no read-back per window.
 */
export function slideLogitsBefore(
  model: SegmentationModel,
  x: tf.Tensor4D,
  options: Required<Pick<InferenceOptions, 'crop' | 'stride' | 'batchSize'>>,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const [ch, cw] = options.crop;
    // Images smaller than a window are padded with zeros (the mean pixel once normalised).
    const ph = Math.max(h, ch);
    const pw = Math.max(w, cw);
    const padded =
      ph > h || pw > w
        ? tf.pad(x, [
            [0, 0],
            [0, ph - h],
            [0, pw - w],
            [0, 0],
          ])
        : x;
    const corners: Array<[number, number]> = [];
    for (const y of windowStarts(ph, ch, options.stride[0]))
      for (const xx of windowStarts(pw, cw, options.stride[1])) corners.push([y, xx]);
    let sum: tf.Tensor4D = tf.zeros([1, ph, pw, model.numClasses]);
    for (let i = 0; i < corners.length; i += options.batchSize) {
      const group = corners.slice(i, i + options.batchSize);
      const crops = group.map(([y, xx]) => tf.slice(padded, [0, y, xx, 0], [1, ch, cw, 3]));
      const logits = model.forward(tf.concat(crops, 0) as tf.Tensor4D);
      group.forEach(([y, xx], g) => {
        const one = tf.slice(logits, [g, 0, 0, 0], [1, ch, cw, model.numClasses]);
        sum = tf.add(
          sum,
          tf.pad(one, [
            [0, 0],
            [y, ph - y - ch],
            [xx, pw - xx - cw],
            [0, 0],
          ]),
        ) as tf.Tensor4D;
      });
    }
    const count = tf.tensor4d(coverage(ph, pw, corners, options.crop), [1, ph, pw, 1]);
    return tf.slice(tf.div(sum, count), [0, 0, 0, 0], [1, h, w, model.numClasses]) as tf.Tensor4D;
  });
}
