// One 2-D convolution exported as the page exports a network (@semseg/onnx's exportOnnx: NHWC in,
// Transpose, Conv, Transpose out), to probe an onnxruntime-web execution provider's Conv alone.
import type { SegmentationModel } from '@semseg/core';
import { exportOnnx } from '@semseg/onnx';
import * as tf from '@tensorflow/tfjs-core';

export interface ConvProbe {
  graph: Uint8Array;
  /** The graph input's NHWC dims and a deterministic input for it. */
  dims: [number, number, number, number];
  input: Float32Array;
}

/** A valid `kernel` x `kernel` convolution from `inChannels` to `outChannels` with fixed weights. */
export function convProbe(inChannels: number, outChannels: number, kernel: number, size: number): ConvProbe {
  const values = (n: number, phase: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase));
  const filter = tf.tensor4d(values(kernel * kernel * inChannels * outChannels, 1), [
    kernel,
    kernel,
    inChannels,
    outChannels,
  ]);
  const model = {
    numClasses: outChannels,
    training: false,
    eval() {},
    train() {},
    forward: (images: tf.Tensor4D) => tf.conv2d(images, filter, 1, 'valid'),
  } as unknown as SegmentationModel;
  try {
    const graph = exportOnnx(model, { height: size, width: size, batch: 1, channels: inChannels });
    return {
      graph,
      dims: [1, size, size, inChannels],
      input: values(size * size * inChannels, 2).map((v) => v * 3),
    };
  } finally {
    filter.dispose();
  }
}
