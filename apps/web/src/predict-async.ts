// WebGPU's synchronous read-back (tfjs-backend-webgpu 4.22 copies through canvases) returns wrong
// values in Chromium 156: on the demo image 105,781 of 328,041 probabilities came back wrong
// (many as zeros) and 9.4% of the labels changed, while `await data()` gave the cpu backend's labels exactly.
// @semseg/engine's predictImage reads with dataSync, so on WebGPU the page runs the same steps
// (the engine's normalizedTensor, the model's forward pass, softmax, the engine's argmaxLabels)
// and reads asynchronously. It covers predictImage's whole-image, scale 1, no-flip case, which
// is what the page and `semseg predict` run by default; a test checks it equals predictImage
// bit for bit. To be replaced by an async predictImage in the engine.
import type { Normalization, SegmentationModel } from '@semseg/core';
import { type Prediction, argmaxLabels, normalizedTensor } from '@semseg/engine';
import type { RgbImage } from '@semseg/voc-data';
import * as tf from '@tensorflow/tfjs-core';

export async function predictWholeImageAsync(
  model: SegmentationModel,
  image: RgbImage,
  normalization: Normalization,
): Promise<Prediction> {
  const t0 = performance.now();
  const x = normalizedTensor(image, normalization);
  const preprocess = performance.now() - t0;
  const start = performance.now();
  const probabilitiesTensor = tf.tidy(() => tf.softmax(model.forward(x)));
  x.dispose();
  let probabilities: Float32Array;
  try {
    probabilities = (await probabilitiesTensor.data()) as Float32Array;
  } finally {
    probabilitiesTensor.dispose();
  }
  const network = performance.now() - start;
  return {
    width: image.width,
    height: image.height,
    numClasses: model.numClasses,
    probabilities,
    labels: argmaxLabels(probabilities, model.numClasses),
    timings: { preprocess, network },
  };
}
