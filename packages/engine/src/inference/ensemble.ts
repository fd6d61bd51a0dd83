import { InputError, type Normalization, type SegmentationModel } from '@semseg/core';
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
