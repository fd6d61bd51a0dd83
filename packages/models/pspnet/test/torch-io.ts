// The shared PyTorch reference I/O (one implementation in @semseg/tooling), and `arrayOf`.
import type { NamedArray } from '@semseg/tooling/torch-io';
import type * as tf from '@tensorflow/tfjs-core';

export {
  type NamedArray,
  maxAbsDiff,
  runTorchArrays as runTorch,
  runTorchFiles,
} from '@semseg/tooling/torch-io';

/** A tensor's values and shape, for `runTorch`. */
export function arrayOf(t: tf.Tensor): NamedArray {
  return { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
}
