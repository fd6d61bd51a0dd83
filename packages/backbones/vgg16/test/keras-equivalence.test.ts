// keras.applications.VGG16 built with tfjs-layers, seeded weights, saved in the TF.js Layers format
// and imported: our pool5 and fc7 must equal tfjs-layers' own block5_pool and fc2 on 224x224.
import { Rng } from '@semseg/core';
import { nextMacrotask } from '@semseg/tooling/event-loop';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { VGG16, decimateBias, decimateKernel } from '../src/index.js';
import { buildKerasVgg16, fillSeeded, saveLayersFormat } from './keras-fixture.js';
import { useWasm } from './wasm.js';

let saved: Awaited<ReturnType<typeof saveLayersFormat>>;
let input: Float32Array;
let kerasPool5: Float32Array;
let kerasFc2: Float32Array;
let kerasFc1Kernel: Float32Array;
let kerasFc1Bias: Float32Array;

function maxAbs(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbsValue(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

beforeAll(async () => {
  await useWasm();
  const keras = buildKerasVgg16(true, 224);
  fillSeeded(keras, 7);
  input = new Rng(8).fillUniform(new Float32Array(224 * 224 * 3), -1, 1);
  const probe = tfl.model({
    inputs: keras.inputs,
    outputs: [
      keras.getLayer('block5_pool').output as tfl.SymbolicTensor,
      keras.getLayer('fc2').output as tfl.SymbolicTensor,
    ],
  });
  const x = tf.tensor4d(input, [1, 224, 224, 3]);
  await nextMacrotask();
  const [pool5, fc2] = probe.predict(x) as tf.Tensor[];
  kerasPool5 = (await pool5!.data()) as Float32Array;
  kerasFc2 = (await fc2!.data()) as Float32Array;
  const [fc1Kernel, fc1Bias] = keras.getLayer('fc1').getWeights();
  kerasFc1Kernel = (await fc1Kernel!.data()) as Float32Array;
  kerasFc1Bias = (await fc1Bias!.data()) as Float32Array;
  tf.dispose([x, pool5!, fc2!]);
  await nextMacrotask();
  saved = await saveLayersFormat(keras);
  keras.dispose();
}, 240_000);

describe('ImageNet VGG16 import (TF.js Layers format of keras.applications.VGG16)', () => {
  it('reproduces tfjs-layers pool5 and fc7 on a 224x224 input, with the paper parameter count', async () => {
    const vgg = new VGG16({}, new Rng(1));
    await nextMacrotask(); // between the heavy synchronous parts, so the worker answers vitest
    // 13 convs: 14,714,688; fc6 7*7*512*4096 + 4096 = 102,764,544; fc7 4096*4096 + 4096 = 16,781,312.
    expect(vgg.numParameters()).toBe(134_260_544);
    const report = await vgg.loadWeights(saved);
    expect(report.format).toBe('tfjs-layers');
    expect(report.loaded).toHaveLength(30);
    expect(report.notInSource).toEqual([]);
    expect(vgg.normalization.channelOrder).toBe('bgr');
    vgg.eval();
    await nextMacrotask();
    const baseline = tf.memory().numTensors;
    const x = tf.tensor4d(input, [1, 224, 224, 3]);
    const f = vgg.forward(x);
    const pool5 = (await f.pool5.data()) as Float32Array;
    const fc7 = (await f.fc7!.data()) as Float32Array;
    expect(f.pool5.shape).toEqual([1, 7, 7, 512]);
    expect(f.fc7!.shape).toEqual([1, 1, 1, 4096]);
    // Same arithmetic in a different order: differences at float32 rounding of the values' scale.
    expect(maxAbs(pool5, kerasPool5)).toBeLessThan(1e-4 * Math.max(1, maxAbsValue(kerasPool5)));
    expect(maxAbs(fc7, kerasFc2)).toBeLessThan(1e-4 * Math.max(1, maxAbsValue(kerasFc2)));
    expect(maxAbsValue(kerasFc2)).toBeGreaterThan(0);
    tf.dispose([x, f.pool3, f.pool4, f.pool5, f.fc7!]);
    expect(tf.memory().numTensors).toBe(baseline);
    vgg.dispose();
  }, 240_000);

  it('decimates fc6/fc7 for DeepLab-LargeFOV as the DeepLab release did', async () => {
    const vgg = new VGG16({ fc: 'largefov', outputStride: 8 }, new Rng(1));
    await nextMacrotask();
    await vgg.loadWeights(saved);
    await nextMacrotask();
    const fc6 = vgg.stateDict()['fc6.weight']!;
    expect(fc6.shape).toEqual([3, 3, 512, 1024]);
    const fc6Values = (await fc6.data()) as Float32Array;
    const expected = decimateKernel({ data: kerasFc1Kernel, shape: [7, 7, 512, 4096] }, 3, 1, 4);
    expect(maxAbs(fc6Values, expected.data)).toBe(0);
    const bias = decimateBias({ data: kerasFc1Bias, shape: [4096] }, 4);
    expect(maxAbs((await vgg.stateDict()['fc6.bias']!.data()) as Float32Array, bias.data)).toBe(0);
    // Spot check one tap by hand: fc6[1][2][5][3] = fc1 kernel row ((3*7 + 6)*512 + 5), column 12.
    expect(fc6Values[((1 * 3 + 2) * 512 + 5) * 1024 + 3]).toBe(
      kerasFc1Kernel[((3 * 7 + 6) * 512 + 5) * 4096 + 12],
    );
    vgg.dispose();
  }, 120_000);

  it('leaves batch norm at its initial values and says so', async () => {
    const vgg = new VGG16({ batchNorm: true, fc: 'none' }, new Rng(1));
    const report = await vgg.loadWeights(saved);
    expect(report.loaded).toHaveLength(26);
    expect(report.notInSource).toContain('conv3_2_bn.runningVar');
    expect(report.notInSource.every((n) => n.includes('_bn.'))).toBe(true);
    vgg.dispose();
  }, 120_000);

  it('refuses a width-multiplied network', async () => {
    const vgg = new VGG16({ width: 1 / 16 }, new Rng(1));
    await expect(vgg.loadWeights(saved)).rejects.toThrow(/ImageNet VGG16 weights need width 1/);
    vgg.dispose();
  });
});
