import type { SegmentationModel } from '@semseg/core';
import { InputError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceOptions, Prediction, RgbImage } from '../types.js';
import { windowStarts } from './windows.js';

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** The image as a normalised [1, H, W, 3] float tensor, channels in the order the model expects. */
export function normalizedTensor(
  image: RgbImage,
  normalization: InferenceOptions['normalization'],
): tf.Tensor4D {
  const { width, height, data } = image;
  if (data.length !== width * height * 3) {
    throw new InputError(
      `image data holds ${data.length} values, ${width}x${height} RGB needs ${width * height * 3}`,
    );
  }
  return tf.tidy(() => {
    const divisor = normalization.scale === 1 ? 255 : 1;
    let x = tf.div(tf.tensor4d(Float32Array.from(data), [1, height, width, 3]), divisor);
    x = tf.div(tf.sub(x, tf.tensor1d(normalization.mean)), tf.tensor1d(normalization.std));
    if (normalization.channelOrder === 'bgr') x = tf.reverse(x, 3);
    return x as tf.Tensor4D;
  });
}

/** Logits of one [1, H, W, 3] input by overlapping windows, averaged where they overlap. */
function slideLogits(
  model: SegmentationModel,
  x: tf.Tensor4D,
  options: Required<Pick<InferenceOptions, 'crop' | 'stride' | 'batchSize'>>,
): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [ch, cw] = options.crop;
  // Images smaller than a window are padded with zeros (the mean pixel once normalised).
  const padded =
    h < ch || w < cw
      ? tf.pad(x, [
          [0, 0],
          [0, Math.max(0, ch - h)],
          [0, Math.max(0, cw - w)],
          [0, 0],
        ])
      : tf.clone(x);
  const [ph, pw] = [Math.max(h, ch), Math.max(w, cw)];
  const corners: Array<[number, number]> = [];
  for (const y of windowStarts(ph, ch, options.stride[0]))
    for (const xx of windowStarts(pw, cw, options.stride[1])) corners.push([y, xx]);
  const c = model.numClasses;
  const sum = new Float32Array(ph * pw * c);
  const count = new Float32Array(ph * pw);
  for (let i = 0; i < corners.length; i += options.batchSize) {
    const group = corners.slice(i, i + options.batchSize);
    const logits = tf.tidy(() => {
      const crops = group.map(([y, xx]) => tf.slice(padded, [0, y, xx, 0], [1, ch, cw, 3]));
      return model.forward(tf.concat(crops, 0) as tf.Tensor4D);
    });
    const values = logits.dataSync();
    logits.dispose();
    group.forEach(([y0, x0], g) => {
      const base = g * ch * cw * c;
      for (let y = 0; y < ch; y++) {
        for (let xx = 0; xx < cw; xx++) {
          const p = (y0 + y) * pw + (x0 + xx);
          count[p]! += 1;
          const src = base + (y * cw + xx) * c;
          const dst = p * c;
          for (let k = 0; k < c; k++) sum[dst + k]! += values[src + k];
        }
      }
    });
  }
  padded.dispose();
  for (let p = 0; p < ph * pw; p++) for (let k = 0; k < c; k++) sum[p * c + k]! /= count[p];
  return tf.tidy(() => tf.slice(tf.tensor4d(sum, [1, ph, pw, c]), [0, 0, 0, 0], [1, h, w, c]));
}

/**
 * Segments one image: at each scale (resized bilinearly), whole or by sliding windows, optionally
 * also flipped; softmax probabilities are resized back to the image and averaged, as
 * mmsegmentation's multi-scale + flip test. The model should be in eval mode.
 */
export function predictImage(
  model: SegmentationModel,
  image: RgbImage,
  options: InferenceOptions,
): Prediction {
  const scales = options.scales ?? [1];
  if (scales.length === 0 || scales.some((s) => !(s > 0)))
    throw new InputError(`scales must be positive numbers, got [${scales}]`);
  const mode = options.mode ?? 'whole';
  const crop = options.crop ?? [512, 512];
  const stride = options.stride ?? [
    Math.max(1, Math.round((crop[0] * 2) / 3)),
    Math.max(1, Math.round((crop[1] * 2) / 3)),
  ];
  const batchSize = options.batchSize ?? 4;
  const { width, height } = image;
  const c = model.numClasses;
  let network = 0;
  const t0 = now();
  const base = normalizedTensor(image, options.normalization);
  const preprocess = now() - t0;
  const views = scales.flatMap((scale) =>
    options.flip
      ? [
          [scale, false],
          [scale, true],
        ]
      : [[scale, false]],
  ) as Array<[number, boolean]>;
  const total = tf.tidy(() => {
    let acc: tf.Tensor4D | null = null;
    for (const [scale, flipped] of views) {
      const start = now();
      const sh = Math.max(1, Math.round(height * scale));
      const sw = Math.max(1, Math.round(width * scale));
      let x = scale === 1 ? base : (tf.image.resizeBilinear(base, [sh, sw], false, true) as tf.Tensor4D);
      if (flipped) x = tf.reverse(x, 2) as tf.Tensor4D;
      const logits = mode === 'slide' ? slideLogits(model, x, { crop, stride, batchSize }) : model.forward(x);
      let probs = tf.softmax(logits) as tf.Tensor4D;
      if (flipped) probs = tf.reverse(probs, 2) as tf.Tensor4D;
      if (scale !== 1) probs = tf.image.resizeBilinear(probs, [height, width], false, true) as tf.Tensor4D;
      acc = acc ? (tf.add(acc, probs) as tf.Tensor4D) : probs;
      network += now() - start;
    }
    return tf.div(acc!, views.length) as tf.Tensor4D;
  });
  base.dispose();
  const probabilities = total.dataSync() as Float32Array;
  total.dispose();
  return {
    width,
    height,
    numClasses: c,
    probabilities,
    labels: argmaxLabels(probabilities, c),
    timings: { preprocess, network },
  };
}

/** argmax over the last axis of H x W x C probabilities (first index on ties). */
export function argmaxLabels(probabilities: Float32Array, numClasses: number): Uint8Array {
  const pixels = probabilities.length / numClasses;
  const labels = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let best = 0;
    let bestValue = probabilities[p * numClasses]!;
    for (let k = 1; k < numClasses; k++) {
      const v = probabilities[p * numClasses + k]!;
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    labels[p] = best;
  }
  return labels;
}
