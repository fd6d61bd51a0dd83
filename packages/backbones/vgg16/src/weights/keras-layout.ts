import { CheckpointError } from '@semseg/core';
import type { WeightFile } from '@semseg/weights';

/** One Keras layer's kernel and bias as plain arrays (no tensors until they are loaded). */
export interface ArrayWithShape {
  data: Float32Array;
  shape: number[];
}

export interface KerasLayerWeights {
  kernel: ArrayWithShape;
  bias: ArrayWithShape;
}

/** Keras layer name -> its weights, as read from a weights file. */
export type KerasWeights = Map<string, KerasLayerWeights>;

/** `keras.applications.VGG16`'s layers with weights, and our names for them. */
export const KERAS_CONV_LAYERS: ReadonlyArray<readonly [keras: string, ours: string]> = [
  ['block1_conv1', 'conv1_1'],
  ['block1_conv2', 'conv1_2'],
  ['block2_conv1', 'conv2_1'],
  ['block2_conv2', 'conv2_2'],
  ['block3_conv1', 'conv3_1'],
  ['block3_conv2', 'conv3_2'],
  ['block3_conv3', 'conv3_3'],
  ['block4_conv1', 'conv4_1'],
  ['block4_conv2', 'conv4_2'],
  ['block4_conv3', 'conv4_3'],
  ['block5_conv1', 'conv5_1'],
  ['block5_conv2', 'conv5_2'],
  ['block5_conv3', 'conv5_3'],
];

/** The top: fc1 (25088 x 4096) becomes fc6, fc2 (4096 x 4096) becomes fc7; predictions is ImageNet's classifier. */
export const KERAS_FC_LAYERS: ReadonlyArray<readonly [keras: string, ours: string]> = [
  ['fc1', 'fc6'],
  ['fc2', 'fc7'],
];

export const KERAS_LAYER_NAMES = new Set(
  [...KERAS_CONV_LAYERS, ...KERAS_FC_LAYERS].map(([k]) => k).concat('predictions'),
);

/** Expected Keras shapes (HWIO for convs, [in, out] for dense). */
export function kerasShapes(): Map<string, { kernel: number[]; bias: number[] }> {
  const channels = [
    [3, 64],
    [64, 64],
    [64, 128],
    [128, 128],
    [128, 256],
    [256, 256],
    [256, 256],
    [256, 512],
    [512, 512],
    [512, 512],
    [512, 512],
    [512, 512],
    [512, 512],
  ] as const;
  const shapes = new Map<string, { kernel: number[]; bias: number[] }>();
  KERAS_CONV_LAYERS.forEach(([name], i) => {
    const [cin, cout] = channels[i]!;
    shapes.set(name, { kernel: [3, 3, cin, cout], bias: [cout] });
  });
  shapes.set('fc1', { kernel: [25088, 4096], bias: [4096] });
  shapes.set('fc2', { kernel: [4096, 4096], bias: [4096] });
  shapes.set('predictions', { kernel: [4096, 1000], bias: [1000] });
  return shapes;
}

/** A TF.js manifest name (`block1_conv1/kernel`, `vgg16/block1_conv1/bias:0`) -> layer and kind. */
const TFJS_NAME = /(?:^|\/)([A-Za-z0-9_]+?)\/(kernel|bias)(?::0)?$/;
/** A Keras HDF5 tensor of @semseg/weights (`block1_conv1/0`: weight_names order, kernel then bias). */
const HDF5_NAME = /^([A-Za-z0-9_]+)\/(\d+)$/;

/**
 * The VGG16 layers of a Keras HDF5 or TF.js file as kernel/bias pairs (other layers skipped);
 * a VGG16 layer without exactly a kernel and a bias is an error.
 */
export function kerasWeightsOf(file: WeightFile): KerasWeights {
  const partial = new Map<string, Partial<KerasLayerWeights> & { count: number }>();
  for (const [key, tensor] of file.tensors) {
    const tfjs = TFJS_NAME.exec(key);
    const hdf5 = tfjs ? null : HDF5_NAME.exec(key);
    const layer = tfjs?.[1] ?? hdf5?.[1];
    if (!layer || !KERAS_LAYER_NAMES.has(layer)) continue;
    const entry = partial.get(layer) ?? { count: 0 };
    entry.count++;
    const index = hdf5?.[2];
    const kind = tfjs ? tfjs[2] : index === '0' ? 'kernel' : index === '1' ? 'bias' : undefined;
    if (kind === 'kernel' || kind === 'bias')
      entry[kind] = { data: tensor.toFloat32(), shape: [...tensor.shape] };
    partial.set(layer, entry);
  }
  const weights: KerasWeights = new Map();
  for (const [layer, entry] of partial) {
    if (!entry.kernel || !entry.bias || entry.count !== 2) {
      throw new CheckpointError(
        file.file,
        `layer '${layer}' has ${entry.count} weights, expected 2 (kernel, bias)`,
      );
    }
    weights.set(layer, { kernel: entry.kernel, bias: entry.bias });
  }
  return weights;
}
