import { CheckpointError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kerasToVgg16 } from '../src/weights/convert.js';
import { readWeightsSource } from '../src/weights/source.js';
import { buildKerasVgg16, fillSeeded, saveLayersFormat } from './keras-fixture.js';
import { type LayerArrays, writeKerasHdf5 } from './keras-hdf5-writer.js';

let model: tfl.LayersModel;
let dir: string;

/** The model's weights as Keras layers (weightless layers included, as Keras' files list them). */
function layerArrays(m: tfl.LayersModel): LayerArrays[] {
  return m.layers
    .filter((l) => l.name !== 'input_1')
    .map((l) => ({
      name: l.name,
      weights: l.getWeights().map((w) => ({ data: w.dataSync() as Float32Array, shape: [...w.shape] })),
    }));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  // The notop network at 32x32 is enough for format checks (14.7M parameters).
  model = buildKerasVgg16(false, 32);
  fillSeeded(model, 11);
  dir = await mkdtemp(join(tmpdir(), 'semseg-vgg-'));
});

afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Bit-exact equality (a loop: deep-equal on a million-element array is slow). */
function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function expectSameAsModel(imported: Map<string, { data: Float32Array; shape: number[] }>): void {
  const kernel = model.getLayer('block3_conv2').getWeights()[0]!;
  const bias = model.getLayer('block5_conv3').getWeights()[1]!;
  expect(imported.get('conv3_2.weight')!.shape).toEqual([3, 3, 256, 256]);
  expect(sameValues(imported.get('conv3_2.weight')!.data, kernel.dataSync() as Float32Array)).toBe(true);
  expect(sameValues(imported.get('conv5_3.bias')!.data, bias.dataSync() as Float32Array)).toBe(true);
  expect(imported.size).toBe(26);
}

describe('VGG16 weight formats', () => {
  it('reads the TF.js Layers format from memory and from a folder on disk', async () => {
    const saved = await saveLayersFormat(model);
    const fromMemory = await readWeightsSource(saved);
    expect(fromMemory.format).toBe('tfjs-layers');
    expectSameAsModel(kerasToVgg16(fromMemory.weights, '7x7', fromMemory.file));

    await writeFile(join(dir, 'model.json'), JSON.stringify(saved.modelJson));
    await writeFile(join(dir, 'group1-shard1of1.bin'), saved.shards['group1-shard1of1.bin']!);
    const fromDisk = await readWeightsSource(dir);
    expect(fromDisk.file).toBe(join(dir, 'model.json'));
    expectSameAsModel(kerasToVgg16(fromDisk.weights, '7x7', fromDisk.file));
  });

  for (const naming of ['published', 'keras2'] as const) {
    it(`reads Keras HDF5 with ${naming} weight names, matching by weight_names order`, async () => {
      const bytes = await writeKerasHdf5(layerArrays(model), naming);
      const read = await readWeightsSource(bytes);
      expect(read.format).toBe('keras-hdf5');
      expectSameAsModel(kerasToVgg16(read.weights, '7x7', read.file));
    });
  }

  it('reads a whole-model HDF5 save (weights under model_weights) from a path', async () => {
    const bytes = await writeKerasHdf5(layerArrays(model), 'keras2', true);
    const file = join(dir, 'vgg16_notop.h5');
    await writeFile(file, bytes);
    const read = await readWeightsSource(file);
    expect(read.file).toBe(file);
    expectSameAsModel(kerasToVgg16(read.weights, 'none', read.file));
  });

  describe('clear errors', () => {
    it('a file that is not VGG16', async () => {
      const other: LayerArrays[] = [
        { name: 'conv_a', weights: [{ data: new Float32Array(4), shape: [1, 1, 2, 2] }] },
      ];
      const read = await readWeightsSource(await writeKerasHdf5(other, 'keras2'));
      expect(() => kerasToVgg16(read.weights, '7x7', 'resnet.h5')).toThrow(
        /resnet\.h5: does not look like VGG16 weights/,
      );
    });

    it('a missing layer', async () => {
      const layers = layerArrays(model).filter((l) => l.name !== 'block4_conv2');
      const read = await readWeightsSource(await writeKerasHdf5(layers, 'published'));
      expect(() => kerasToVgg16(read.weights, '7x7', 'w.h5')).toThrow(
        'w.h5: is missing VGG16 layers: block4_conv2',
      );
    });

    it('a shape mismatch', async () => {
      const layers = layerArrays(model).map((l) =>
        l.name === 'block2_conv1'
          ? {
              ...l,
              weights: [
                { data: new Float32Array(3 * 3 * 64 * 100), shape: [3, 3, 64, 100] },
                { data: new Float32Array(100), shape: [100] },
              ],
            }
          : l,
      );
      const read = await readWeightsSource(await writeKerasHdf5(layers, 'published'));
      expect(() => kerasToVgg16(read.weights, '7x7', 'w.h5')).toThrow(
        "w.h5: layer 'block2_conv1' has kernel [3,3,64,100] and bias [100], VGG16 needs [3,3,64,128] and [128]",
      );
    });

    it('bytes that are neither HDF5 nor a model.json, and missing paths', async () => {
      await expect(readWeightsSource(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).rejects.toThrow(
        /is not a weights file this reader knows/,
      );
      await expect(readWeightsSource(join(dir, 'nope.h5'))).rejects.toThrow(CheckpointError);
      await writeFile(join(dir, 'bad.json'), '{"weightsManifest": 3}');
      await expect(readWeightsSource(join(dir, 'bad.json'))).rejects.toThrow(
        /bad\.json: has no weightsManifest/,
      );
    });

    it('a truncated shard', async () => {
      const saved = await saveLayersFormat(model);
      const shard = saved.shards['group1-shard1of1.bin']!;
      const cut = { ...saved, shards: { 'group1-shard1of1.bin': shard.subarray(0, shard.byteLength - 100) } };
      await expect(readWeightsSource(cut)).rejects.toThrow(
        /weight shards end before tensor 'block5_conv3\/bias'/,
      );
    });
  });
});
