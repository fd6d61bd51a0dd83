import { IGNORE_INDEX, InputError } from '@semseg/core';
import { distanceTransform } from './distance.js';

export interface WeightMapOptions {
  width: number;
  height: number;
  /** Class per pixel (row-major); `ignoreIndex` pixels get weight 0. */
  labels: Uint8Array;
  /** Instance id per pixel (0: no instance, e.g. background between cells). */
  instances: Uint8Array | Uint16Array | Int32Array | Uint32Array;
  numClasses: number;
  /**
   * w_c: 'balanced' (default): each present class weighs labelled / (present classes * its
   * pixels), so every class carries the same total weight; or explicit weights per class.
   */
  classWeights?: 'balanced' | readonly number[];
  /** The border term's amplitude (paper: 10). */
  w0?: number;
  /** The border term's width in pixels (paper: 5). */
  sigma?: number;
  ignoreIndex?: number;
}

/**
 * The paper's weight map (Ronneberger et al. 2015, eq. 2):
 * w(x) = w_c(x) + w0 exp(-(d1(x) + d2(x))^2 / (2 sigma^2)), with d1 and d2 the distances to the
 * nearest and second nearest instance (cell). The border term is added on pixels outside every
 * instance, the thin gaps between touching cells it is meant to emphasise (inside a cell d1 = 0
 * and the term would only blur the cell's edge); with fewer than two instances it is 0.
 * Distances are exact Euclidean (one distance transform per instance).
 */
export function unetWeightMap(options: WeightMapOptions): Float32Array {
  const { width, height, labels, instances, numClasses } = options;
  const pixels = width * height;
  const ignoreIndex = options.ignoreIndex ?? IGNORE_INDEX;
  const w0 = options.w0 ?? 10;
  const sigma = options.sigma ?? 5;
  if (labels.length !== pixels || instances.length !== pixels) {
    throw new InputError(
      `weight map: labels (${labels.length}) and instances (${instances.length}) must hold ${width}x${height} = ${pixels} values`,
    );
  }
  const classWeight = classWeights(labels, numClasses, ignoreIndex, options.classWeights ?? 'balanced');
  const weights = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const label = labels[i]!;
    if (label === ignoreIndex) continue;
    if (label >= numClasses) throw new InputError(`weight map: label ${label} at pixel ${i} is not a class`);
    weights[i] = classWeight[label]!;
  }
  const ids = [...new Set(instances)].filter((id) => id !== 0);
  if (ids.length < 2 || w0 === 0) return weights;
  const d1 = new Float64Array(pixels).fill(Number.POSITIVE_INFINITY);
  const d2 = new Float64Array(pixels).fill(Number.POSITIVE_INFINITY);
  for (const id of ids) {
    const d = distanceTransform((i) => instances[i] === id, width, height);
    for (let i = 0; i < pixels; i++) {
      const di = d[i]!;
      if (di < d1[i]!) {
        d2[i] = d1[i]!;
        d1[i] = di;
      } else if (di < d2[i]!) d2[i] = di;
    }
  }
  const twoSigma2 = 2 * sigma * sigma;
  for (let i = 0; i < pixels; i++) {
    if (instances[i] !== 0 || labels[i] === ignoreIndex) continue;
    const sum = d1[i]! + d2[i]!;
    weights[i] = weights[i]! + w0 * Math.exp(-(sum * sum) / twoSigma2);
  }
  return weights;
}

function classWeights(
  labels: Uint8Array,
  numClasses: number,
  ignoreIndex: number,
  spec: 'balanced' | readonly number[],
): Float64Array {
  if (spec !== 'balanced') {
    if (spec.length !== numClasses)
      throw new InputError(`weight map: ${spec.length} class weights for ${numClasses} classes`);
    return Float64Array.from(spec);
  }
  const counts = new Float64Array(numClasses);
  let labelled = 0;
  for (const label of labels) {
    if (label === ignoreIndex || label >= numClasses) continue;
    counts[label]! += 1;
    labelled++;
  }
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? labelled / (present * c) : 0));
}
