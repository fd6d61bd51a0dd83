// One network pass through @semseg/engine's predictImage: the same inference path as
// `semseg predict` (whole image, scale 1, no flip: the CLI's defaults).
import type { CheckpointMeta, SegmentationModel } from '@semseg/core';
import { predictImage } from '@semseg/engine';
import type { RgbImage } from '@semseg/voc-data';
import type { NetworkResult } from './state.js';

export function segment(
  model: SegmentationModel,
  meta: CheckpointMeta,
  image: RgbImage,
  backend: string,
  decodeMs: number,
): NetworkResult {
  const start = performance.now();
  const prediction = predictImage(model, image, { normalization: meta.normalization });
  const total = performance.now() - start;
  // GPU backends queue work and wait at the read-back that ends predictImage, after its own
  // network timer stops: the network stage is therefore the whole call less preprocessing.
  const preprocess = prediction.timings.preprocess;
  return {
    width: prediction.width,
    height: prediction.height,
    numClasses: prediction.numClasses,
    labels: prediction.labels,
    probabilities: prediction.probabilities,
    backend,
    timings: {
      decode: decodeMs,
      preprocess,
      network: Math.max(0, total - preprocess),
      total: total + decodeMs,
    },
  };
}
