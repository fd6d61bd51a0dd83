// ImageNet initialisation through @semseg/vgg16's reader: a seeded Keras no-top VGG16 HDF5 file
// (written with the vgg16 tests' writer) loads into DeepLab-LargeFOV's backbone by name.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LayerArrays, writeKerasHdf5 } from '../../../backbones/vgg16/test/keras-hdf5-writer.js';
import { DeepLabV1 } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'deeplab-pretrained-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3],
];

describe('pretrained (ImageNet VGG16)', () => {
  it('loads the 13 convs into the backbone and reports fc6/fc7 as not in a no-top file', async () => {
    const rng = new Rng(7);
    const layers: LayerArrays[] = [];
    let cin = 3;
    BLOCKS.forEach(([filters, convs], b) => {
      for (let i = 0; i < convs; i++) {
        const kernel = rng.fillUniform(new Float32Array(9 * cin * filters), -0.05, 0.05);
        const bias = rng.fillUniform(new Float32Array(filters), -0.05, 0.05);
        layers.push({
          name: `block${b + 1}_conv${i + 1}`,
          weights: [
            { data: kernel, shape: [3, 3, cin, filters] },
            { data: bias, shape: [filters] },
          ],
        });
        cin = filters;
      }
      layers.push({ name: `block${b + 1}_pool`, weights: [] });
    });
    const file = join(dir, 'vgg16_notop.h5');
    writeFileSync(file, await writeKerasHdf5(layers, 'keras2'));
    const model = new DeepLabV1({}, new Rng(0));
    const report = await getModelDefinition('deeplab-v1').pretrained!.load(model, file);
    expect(report.loaded).toHaveLength(26);
    expect(report.loaded[0]).toBe('backbone.conv1_1.weight');
    expect(report.notInSource).toEqual(['fc6', 'fc7']);
    const ours = model.stateDict()['backbone.conv5_3.bias']!.dataSync();
    expect(Array.from(ours.slice(0, 4))).toEqual(Array.from(layers.at(-2)!.weights[1]!.data.slice(0, 4)));
    model.dispose();
  }, 120_000);

  it('refuses a width other than 1', async () => {
    const model = new DeepLabV1({ width: 1 / 8 }, new Rng(0));
    await expect(getModelDefinition('deeplab-v1').pretrained!.load(model, 'x.h5')).rejects.toThrow(
      'ImageNet VGG16 weights need width 1, the model has width 0.125',
    );
    model.dispose();
  });
});
