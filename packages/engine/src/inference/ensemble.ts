import { InputError, Module, type Normalization, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceOptions, Prediction, RgbImage } from '../types.js';
import { argmaxLabels, predictImageAsync } from './predict.js';

/** One model of an ensemble, with the normalisation its weights expect (its checkpoint's). */
export interface EnsembleMember {
  model: SegmentationModel;
  normalization: Normalization;
}

/**
 * The per-pixel mean of the members' class probabilities (EDeconvNet: DeconvNet and FCN-8s, Noh
 * et al. 2015), relabelled by argmax. All predictions must be of one image and class count.
 */
export function averagePredictions(predictions: readonly Prediction[]): Prediction {
  const first = predictions[0];
  if (!first) throw new InputError('an ensemble needs at least one prediction');
  for (const p of predictions) {
    if (p.width !== first.width || p.height !== first.height || p.numClasses !== first.numClasses) {
      throw new InputError(
        `ensemble members disagree: ${p.width}x${p.height} with ${p.numClasses} classes against ${first.width}x${first.height} with ${first.numClasses}`,
      );
    }
  }
  const probabilities = new Float32Array(first.probabilities.length);
  for (const p of predictions) {
    const values = p.probabilities;
    for (let i = 0; i < values.length; i++) probabilities[i]! += values[i];
  }
  const count = predictions.length;
  for (let i = 0; i < probabilities.length; i++) probabilities[i]! /= count;
  let preprocess = 0;
  let network = 0;
  for (const p of predictions) {
    preprocess += p.timings.preprocess;
    network += p.timings.network;
  }
  return {
    width: first.width,
    height: first.height,
    numClasses: first.numClasses,
    probabilities,
    labels: argmaxLabels(probabilities, first.numClasses),
    timings: { preprocess, network },
  };
}

/**
 * Segments an image with every member (each with its own normalisation, the same inference
 * geometry) and averages their probabilities. Refine the result with `refineWithCrf` for the
 * paper's best setting (EDeconvNet + CRF).
 */
export async function predictEnsembleAsync(
  members: readonly EnsembleMember[],
  image: RgbImage,
  options: Omit<InferenceOptions, 'normalization'>,
): Promise<Prediction> {
  if (members.length === 0) throw new InputError('an ensemble needs at least one model');
  const classes = members[0]!.model.numClasses;
  const mismatch = members.find((m) => m.model.numClasses !== classes);
  if (mismatch) {
    throw new InputError(
      `ensemble members must predict the same classes: ${classes} against ${mismatch.model.numClasses}`,
    );
  }
  const predictions: Prediction[] = [];
  for (const { model, normalization } of members) {
    predictions.push(await predictImageAsync(model, image, { ...options, normalization }));
  }
  return averagePredictions(predictions);
}

/** Pixels as they are (0..255 RGB): what `EnsembleModel` takes, each member normalising for itself. */
export const RAW_PIXELS: Normalization = { mean: [0, 0, 0], std: [1, 1, 1], scale: 255, channelOrder: 'rgb' };

/** `x` (0..255 RGB) normalised as `n` says, channels in its order. */
function normalizeRaw(x: tf.Tensor4D, n: Normalization): tf.Tensor4D {
  return tf.tidy(() => {
    let y = n.scale === 1 ? tf.div(x, 255) : x;
    y = tf.div(tf.sub(y, tf.tensor1d(n.mean)), tf.tensor1d(n.std));
    if (n.channelOrder === 'bgr') y = tf.reverse(y, 3);
    return y as tf.Tensor4D;
  });
}

/**
 * An ensemble as one model: it takes raw pixels (`normalization` is `RAW_PIXELS`), normalises them
 * for each member, and returns log of the members' mean probabilities, so that a softmax after it
 * (in every inference path: whole, sliding windows, scales, flips, proposals, the evaluator) gives
 * exactly the mean. The members become its children `member0`, `member1`, ... and are disposed
 * with it.
 */
export class EnsembleModel extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly normalization = RAW_PIXELS;
  readonly members: readonly EnsembleMember[];

  constructor(members: readonly EnsembleMember[]) {
    super();
    if (members.length === 0) throw new InputError('an ensemble needs at least one model');
    const classes = members[0]!.model.numClasses;
    const mismatch = members.find((m) => m.model.numClasses !== classes);
    if (mismatch) {
      throw new InputError(
        `ensemble members must predict the same classes: ${classes} against ${mismatch.model.numClasses}`,
      );
    }
    this.numClasses = classes;
    this.members = members;
    members.forEach((m, i) => this.registerModule(`member${i}`, m.model));
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let sum: tf.Tensor | null = null;
      for (const { model, normalization } of this.members) {
        const p = tf.softmax(model.forward(normalizeRaw(images, normalization)));
        sum = sum ? tf.add(sum, p) : p;
      }
      // The floor keeps log finite where every member gives a class (numerically) zero.
      return tf.log(tf.maximum(tf.div(sum!, this.members.length), 1e-30)) as tf.Tensor4D;
    });
  }
}
