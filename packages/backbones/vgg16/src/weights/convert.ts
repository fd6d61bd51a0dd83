import { CheckpointError } from '@semseg/core';
import { decimateBias, decimateKernel } from './decimate.js';
import { type ArrayWithShape, KERAS_CONV_LAYERS, type KerasWeights, kerasShapes } from './keras-layout.js';

/** Which fully connected head the target network has. */
export type Fc6Kind = '7x7' | 'largefov' | 'none';

/** Our parameter name -> values, ready to become tensors. */
export type ImportedArrays = Map<string, ArrayWithShape>;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Maps Keras VGG16 weights to our parameter names and layouts: conv kernels are HWIO on both
 * sides; fc1's 25088 x 4096 kernel is a 7x7x512x4096 conv kernel (Keras flattens the 7x7x512
 * pool5 output channels-last, so a plain reshape is exact); fc2 becomes a 1x1 conv; for DeepLab's
 * LargeFOV head both are decimated as the DeepLab release did.
 */
export function kerasToVgg16(weights: KerasWeights, fc: Fc6Kind, file: string): ImportedArrays {
  const expected = kerasShapes();
  const present = [...weights.keys()];
  if (!weights.has('block1_conv1') && !weights.has('block5_conv3')) {
    const seen = present.length > 0 ? present.slice(0, 5).join(', ') : 'no recognised layers';
    throw new CheckpointError(
      file,
      `does not look like VGG16 weights (found ${seen}; expected block1_conv1 .. block5_conv3)`,
    );
  }
  for (const [layer, w] of weights) {
    const shapes = expected.get(layer)!;
    if (!sameShape(w.kernel.shape, shapes.kernel) || !sameShape(w.bias.shape, shapes.bias)) {
      throw new CheckpointError(
        file,
        `layer '${layer}' has kernel [${w.kernel.shape}] and bias [${w.bias.shape}], VGG16 needs [${shapes.kernel}] and [${shapes.bias}]`,
      );
    }
  }
  const missing = KERAS_CONV_LAYERS.map(([k]) => k).filter((k) => !weights.has(k));
  if (missing.length > 0) throw new CheckpointError(file, `is missing VGG16 layers: ${missing.join(', ')}`);

  const out: ImportedArrays = new Map();
  for (const [keras, ours] of KERAS_CONV_LAYERS) {
    const w = weights.get(keras)!;
    out.set(`${ours}.weight`, w.kernel);
    out.set(`${ours}.bias`, w.bias);
  }
  const fc1 = weights.get('fc1');
  const fc2 = weights.get('fc2');
  if (fc === 'none' || !fc1 || !fc2) return out;
  const fc6Kernel = { data: fc1.kernel.data, shape: [7, 7, 512, 4096] };
  const fc7Kernel = { data: fc2.kernel.data, shape: [1, 1, 4096, 4096] };
  if (fc === '7x7') {
    out.set('fc6.weight', fc6Kernel);
    out.set('fc6.bias', fc1.bias);
    out.set('fc7.weight', fc7Kernel);
    out.set('fc7.bias', fc2.bias);
  } else {
    out.set('fc6.weight', decimateKernel(fc6Kernel, 3, 1, 4));
    out.set('fc6.bias', decimateBias(fc1.bias, 4));
    out.set('fc7.weight', decimateKernel(fc7Kernel, 1, 4, 4));
    out.set('fc7.bias', decimateBias(fc2.bias, 4));
  }
  return out;
}
