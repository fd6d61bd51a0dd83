import type { SegmentationModel } from '@semseg/core';
import { InputError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceOptions, Prediction, RgbImage } from '../types.js';
import { type InferenceModel, type NetworkPass, runPass, runPassAsync } from './network-pass.js';
import { overlapTilePass, shrinksInput } from './overlap-tile.js';
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

type SlideOptions = Required<Pick<InferenceOptions, 'crop' | 'stride' | 'batchSize'>>;

/**
 * Logits of one [1, H, W, 3] input by overlapping windows, averaged where they overlap
 * (mmsegmentation's slide inference). Everything stays on the device: no read-back per window.
 * Windows are added into one running sum per image, each intermediate freed as soon as the next
 * exists, so memory peaks at a few H x W x C buffers plus one batch of windows (all of them
 * used to stay alive until the image was done: 2 x windows x H x W x C floats).
 */
export function slideLogits(model: SegmentationModel, x: tf.Tensor4D, options: SlideOptions): tf.Tensor4D {
  return runPass(slidePass(model, x, options), model);
}

/** `slideLogits` as a network pass (each batch of windows is yielded for its logits). */
export function* slidePass(
  model: InferenceModel,
  x: tf.Tensor4D,
  options: SlideOptions,
): NetworkPass<tf.Tensor4D> {
  const [, h, w] = x.shape;
  const [ch, cw] = options.crop;
  const c = model.numClasses;
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
  let sum: tf.Tensor4D = tf.zeros([1, ph, pw, c]);
  try {
    for (let i = 0; i < corners.length; i += options.batchSize) {
      const group = corners.slice(i, i + options.batchSize);
      const batch = tf.tidy(
        () =>
          tf.concat(
            group.map(([y, xx]) => tf.slice(padded, [0, y, xx, 0], [1, ch, cw, 3])),
            0,
          ) as tf.Tensor4D,
      );
      let logits: tf.Tensor4D;
      try {
        logits = yield batch;
      } finally {
        batch.dispose();
      }
      try {
        group.forEach(([y, xx], g) => {
          // Same additions in the same order as before: the result is unchanged, bit for bit.
          const next = tf.tidy(() => {
            const one = tf.slice(logits, [g, 0, 0, 0], [1, ch, cw, c]);
            return tf.add(
              sum,
              tf.pad(one, [
                [0, 0],
                [y, ph - y - ch],
                [xx, pw - xx - cw],
                [0, 0],
              ]),
            ) as tf.Tensor4D;
          });
          sum.dispose();
          sum = next;
        });
      } finally {
        logits.dispose();
      }
    }
    return tf.tidy(() => {
      const count = tf.tensor4d(coverage(ph, pw, corners, options.crop), [1, ph, pw, 1]);
      return tf.slice(tf.div(sum, count), [0, 0, 0, 0], [1, h, w, c]) as tf.Tensor4D;
    });
  } finally {
    sum.dispose();
    if (padded !== x) padded.dispose();
  }
}

interface ProbabilityPass {
  probabilities: tf.Tensor4D;
  preprocess: number;
  /** Time to queue the network work; the read-back that follows waits for it on GPU backends. */
  network: number;
}

/** Runs every view (scales x flips) and returns the averaged probabilities, still on the device. */
function* probabilityPass(
  model: InferenceModel,
  image: RgbImage,
  options: InferenceOptions,
): NetworkPass<ProbabilityPass> {
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
  const t0 = now();
  const base = normalizedTensor(image, options.normalization);
  const preprocess = now() - t0;
  const start = now();
  const views = scales.flatMap((scale) =>
    options.flip
      ? [
          [scale, false],
          [scale, true],
        ]
      : [[scale, false]],
  ) as Array<[number, boolean]>;
  // Explicit disposal rather than one tidy: the pass yields to the network between views.
  let acc: tf.Tensor4D | null = null;
  try {
    for (const [scale, flipped] of views) {
      const sh = Math.max(1, Math.round(height * scale));
      const sw = Math.max(1, Math.round(width * scale));
      const x = tf.tidy(() => {
        let v = scale === 1 ? base : (tf.image.resizeBilinear(base, [sh, sw], false, true) as tf.Tensor4D);
        if (flipped) v = tf.reverse(v, 2) as tf.Tensor4D;
        return v;
      });
      let logits: tf.Tensor4D;
      try {
        // Valid-padded models (U-Net) lose a margin: mirrored context and overlapping tiles (crop = tile).
        logits = shrinksInput(model)
          ? yield* overlapTilePass(model, x, { ...(mode === 'slide' ? { tile: crop } : {}), batchSize })
          : mode === 'slide'
            ? yield* slidePass(model, x, { crop, stride, batchSize })
            : yield x;
      } finally {
        if (x !== base) x.dispose();
      }
      const probs = tf.tidy(() => {
        let p = tf.softmax(logits) as tf.Tensor4D;
        if (flipped) p = tf.reverse(p, 2) as tf.Tensor4D;
        if (scale !== 1) p = tf.image.resizeBilinear(p, [height, width], false, true) as tf.Tensor4D;
        return p;
      });
      logits.dispose();
      if (acc) {
        const sum: tf.Tensor4D = tf.add(acc, probs);
        acc.dispose();
        probs.dispose();
        acc = sum;
      } else acc = probs;
    }
    const probabilities = tf.div(acc!, views.length) as tf.Tensor4D;
    return { probabilities, preprocess, network: now() - start };
  } finally {
    acc?.dispose();
    base.dispose();
  }
}

function toPrediction(
  model: SegmentationModel,
  image: RgbImage,
  probabilities: Float32Array,
  preprocess: number,
  network: number,
): Prediction {
  const c = model.numClasses;
  return {
    width: image.width,
    height: image.height,
    numClasses: c,
    probabilities,
    labels: argmaxLabels(probabilities, c),
    timings: { preprocess, network },
  };
}

/**
 * Segments one image: at each scale (resized bilinearly), whole or by sliding windows, optionally
 * also flipped; softmax probabilities are resized back to the image and averaged, as
 * mmsegmentation's multi-scale + flip test. The model should be in eval mode. Reads the result
 * synchronously: use `predictImageAsync` on WebGPU/WebGL, whose synchronous read-back is slow or,
 * on WebGPU in tfjs 4.22 with recent Chromium, wrong.
 */
export function predictImage(
  model: SegmentationModel,
  image: RgbImage,
  options: InferenceOptions,
): Prediction {
  const pass = runPass(probabilityPass(model, image, options), model);
  const start = now();
  try {
    const values = pass.probabilities.dataSync() as Float32Array;
    return toPrediction(model, image, values, pass.preprocess, pass.network + now() - start);
  } finally {
    pass.probabilities.dispose();
  }
}

/**
 * `predictImage` with an asynchronous read-back (`await data()`): the same numbers, on every
 * backend. It also takes a model whose network runs outside tfjs (`forwardAsync`: onnxruntime),
 * with the same preprocessing, windows, scales, flips and averaging around it.
 */
export async function predictImageAsync(
  model: InferenceModel,
  image: RgbImage,
  options: InferenceOptions,
): Promise<Prediction> {
  const pass = await runPassAsync(probabilityPass(model, image, options), model);
  const start = now();
  try {
    const values = (await pass.probabilities.data()) as Float32Array;
    return toPrediction(model, image, values, pass.preprocess, pass.network + now() - start);
  } finally {
    pass.probabilities.dispose();
  }
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
