// One network pass through @semseg/engine's predictImage, the inference path of `semseg predict`
// (whole image, scale 1, no flip: the CLI's defaults). On WebGPU the same steps with an
// asynchronous read (see predict-async.ts).
import type { CheckpointMeta, SegmentationModel } from '@semseg/core';
import { type Prediction, predictImage } from '@semseg/engine';
import type { RgbImage } from '@semseg/voc-data';
import { predictWholeImageAsync } from './predict-async.js';
import type { NetworkResult } from './state.js';

/** Backends whose synchronous read-back cannot be trusted (see predict-async.ts). */
const ASYNC_READ_BACKENDS = new Set(['webgpu']);

export async function segment(
  model: SegmentationModel,
  meta: CheckpointMeta,
  image: RgbImage,
  backend: string,
  decodeMs: number,
): Promise<NetworkResult> {
  const start = performance.now();
  const prediction: Prediction = ASYNC_READ_BACKENDS.has(backend)
    ? await predictWholeImageAsync(model, image, meta.normalization)
    : predictImage(model, image, { normalization: meta.normalization });
  const total = performance.now() - start;
  // GPU backends queue work and wait at the read-back, which predictImage does after its network
  // timer stops: the network stage is therefore the whole call less preprocessing.
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
