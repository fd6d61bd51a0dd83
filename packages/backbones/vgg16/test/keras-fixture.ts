// Builds keras.applications.VGG16's architecture with tfjs-layers (tests only) and fills it with
// seeded He-uniform weights, so the import can be checked against tfjs-layers' own outputs.
import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export const BLOCKS: ReadonlyArray<readonly [filters: number, convs: number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3],
];

// fillSeeded sets every weight: tfjs-layers' own random initialisers (138M values at 224 with the
// top) would only cost time.
const UNINITIALISED = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;

/** keras.applications.VGG16's layers and names; zero weights until fillSeeded. */
export function buildKerasVgg16(includeTop: boolean, size = 224): tfl.LayersModel {
  const input = tfl.input({ shape: [size, size, 3], name: 'input_1' });
  let x = input as tfl.SymbolicTensor;
  BLOCKS.forEach(([filters, convs], b) => {
    for (let i = 0; i < convs; i++) {
      x = tfl.layers
        .conv2d({
          filters,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          name: `block${b + 1}_conv${i + 1}`,
          ...UNINITIALISED,
        })
        .apply(x) as tfl.SymbolicTensor;
    }
    x = tfl.layers
      .maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` })
      .apply(x) as tfl.SymbolicTensor;
  });
  if (includeTop) {
    x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers
      .dense({ units: 4096, activation: 'relu', name: 'fc1', ...UNINITIALISED })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers
      .dense({ units: 4096, activation: 'relu', name: 'fc2', ...UNINITIALISED })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers
      .dense({ units: 1000, activation: 'softmax', name: 'predictions', ...UNINITIALISED })
      .apply(x) as tfl.SymbolicTensor;
  }
  return tfl.model({ inputs: input, outputs: x, name: 'vgg16' });
}

/** Seeded He-uniform kernels and small uniform biases, so activations stay O(1) through the net. */
export function fillSeeded(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  const values = model.getWeights().map((w) => {
    const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 0;
    const limit = fanIn > 0 ? Math.sqrt(6 / fanIn) : 0.1;
    const data = rng.fillUniform(new Float32Array(w.size), -limit, limit);
    return tf.tensor(data, w.shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Saves a model in the TF.js Layers format (what tensorflowjs_converter writes) in memory. */
export async function saveLayersFormat(
  model: tfl.LayersModel,
): Promise<{ modelJson: object; shards: Record<string, Uint8Array> }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const data = a.weightData as ArrayBuffer;
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'test',
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
    },
    shards: { 'group1-shard1of1.bin': new Uint8Array(data) },
  };
}
