// One network pass through @semseg/engine's inference path, the one `semseg predict` uses (whole
// image or sliding window, at one or more scales, with or without flip). The read-back is asynchronous on every
// backend: tfjs-backend-webgpu 4.22's synchronous read returns wrong values in recent Chromium
// (measured: 9.4% of the labels changed), and on WebGL it stalls the page.
import type { CheckpointMeta, SegmentationModel } from '@semseg/core';
import { predictImageAsync } from '@semseg/engine';
import type { RgbImage } from '@semseg/voc-data';
import type { InferenceSettings } from './inference-settings.js';
import type { NetworkResult } from './state.js';

export async function segment(
  model: SegmentationModel,
  meta: CheckpointMeta,
  image: RgbImage,
  backend: string,
  decodeMs: number,
  settings?: InferenceSettings,
): Promise<NetworkResult> {
  const start = performance.now();
  const { description, ...options } = settings ?? { description: 'whole image, scale 1' };
  const prediction = await predictImageAsync(model, image, { ...options, normalization: meta.normalization });
  const total = performance.now() - start;
  const preprocess = prediction.timings.preprocess;
  return {
    width: prediction.width,
    height: prediction.height,
    numClasses: prediction.numClasses,
    labels: prediction.labels,
    probabilities: prediction.probabilities,
    backend,
    inference: description,
    timings: {
      decode: decodeMs,
      preprocess,
      network: Math.max(0, total - preprocess),
      total: total + decodeMs,
    },
  };
}
