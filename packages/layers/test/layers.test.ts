import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Conv2d,
  ConvTranspose2d,
  Dropout,
  Dropout2d,
  MaxPool2d,
  MaxUnpool2d,
  ReLU,
  ResizeConv2d,
  Sequential,
  bilinearKernel,
  classifier,
  conv2d,
  heNormal,
  normal,
  resize,
  torchDefault,
  xavierUniform,
  zeros,
} from '../src/index.js';
import { BACKENDS, onBackendWithoutLeaks, useBackend } from './helpers/backends.js';
import { gradientCheck, randomTensor, relativeError, toArray } from './helpers/numeric.js';

describe('initialisers (seeded)', () => {
  beforeAll(() => useBackend('cpu'));

  const stats = async (t: tf.Tensor) => {
    const v = Array.from(await t.data());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std, min: Math.min(...v), max: Math.max(...v) };
  };

  it('He normal: std sqrt(2 / fanIn); Xavier uniform and PyTorch default: their bounds; same seed, same values', async () => {
    const fans = { fanIn: 3 * 3 * 64, fanOut: 3 * 3 * 32 };
    const he = heNormal()([3, 3, 64, 32], fans, new Rng(1));
    const heStats = await stats(he);
    expect(heStats.std / Math.sqrt(2 / fans.fanIn)).toBeGreaterThan(0.97);
    expect(heStats.std / Math.sqrt(2 / fans.fanIn)).toBeLessThan(1.03);
    expect(Math.abs(heStats.mean)).toBeLessThan(0.003);
    const xavier = await stats(xavierUniform()([3, 3, 64, 32], fans, new Rng(2)));
    const xavierBound = Math.sqrt(6 / (fans.fanIn + fans.fanOut));
    expect(xavier.max).toBeLessThanOrEqual(xavierBound);
    expect(xavier.min).toBeGreaterThanOrEqual(-xavierBound);
    expect(xavier.max).toBeGreaterThan(0.95 * xavierBound);
    const torch = await stats(torchDefault()([3, 3, 64, 32], fans, new Rng(3)));
    expect(torch.max).toBeLessThanOrEqual(1 / Math.sqrt(fans.fanIn));
    const again = heNormal()([3, 3, 64, 32], fans, new Rng(1));
    expect(Array.from(await again.data())).toEqual(Array.from(await he.data()));
    const small = await stats(normal(0.01)([100, 100], fans, new Rng(4)));
    expect(small.std).toBeCloseTo(0.01, 3);
    tf.dispose([he, again]);
  });

  it('bilinear kernel as FCN upsample_filt', () => {
    expect(Array.from(bilinearKernel(4)).slice(0, 4)).toEqual([0.0625, 0.1875, 0.1875, 0.0625]);
    const k3 = Array.from(bilinearKernel(3));
    expect(k3).toEqual([0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25]);
  });
});

describe.each(BACKENDS)('layers on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it('Conv2d: parameter names, HWIO shapes, optimiser settings, same padding per input size, bias added', async () => {
    const conv = new Conv2d({
      inChannels: 3,
      outChannels: 4,
      kernelSize: 3,
      padding: 'same',
      dilation: 2,
      rng: new Rng(1),
    });
    expect(Object.fromEntries(Object.entries(conv.stateDict()).map(([k, v]) => [k, v.shape]))).toEqual({
      weight: [3, 3, 3, 4],
      bias: [4],
    });
    expect(conv.namedParameters().map((p) => [p.name, p.weightDecay])).toEqual([
      ['weight', true],
      ['bias', false],
    ]);
    const x = randomTensor<tf.Rank.R4>([1, 7, 6, 3], 2);
    const y = conv.forward(x);
    const ref = tf.tidy(() =>
      tf.add(tf.conv2d(x, conv.weight as tf.Tensor4D, 1, 'same', 'NHWC', 2), conv.bias!),
    );
    expect(relativeError(await toArray(y), await toArray(ref))).toBeLessThan(1e-5);
    tf.dispose([x, y, ref]);
    conv.dispose();
  });

  it('Conv2d layer gradients (input, weight, bias) match finite differences', async () => {
    const conv = new Conv2d({
      inChannels: 2,
      outChannels: 3,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      rng: new Rng(3),
    });
    const x = randomTensor<tf.Rank.R4>([1, 7, 6, 2], 4);
    const error = await gradientCheck(([a]) => conv.forward(a as tf.Tensor4D), [x, conv.weight, conv.bias!]);
    expect(error).toBeLessThan(2e-3);
    x.dispose();
    conv.dispose();
  });

  it('Sequential names its children and chains them; nested names are dotted', () => {
    const rng = new Rng(5);
    const block = new Sequential([
      ['conv1_1', new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, rng })],
      ['relu1_1', new ReLU()],
      ['pool1', new MaxPool2d({ kernelSize: 2, ceilMode: true })],
    ]);
    const unnamed = new Sequential([
      new Conv2d({ inChannels: 4, outChannels: 2, kernelSize: 1, rng }),
      new ReLU(),
    ]);
    expect(Object.keys(block.stateDict())).toEqual(['conv1_1.weight', 'conv1_1.bias']);
    expect(Object.keys(unnamed.stateDict())).toEqual(['0.weight', '0.bias']);
    const x = randomTensor<tf.Rank.R4>([1, 5, 5, 3], 6);
    const y = tf.tidy(() => unnamed.forward(block.forward(x)));
    expect(y.shape).toEqual([1, 3, 3, 2]);
    tf.dispose([x, y]);
    block.dispose();
    unnamed.dispose();
  });

  it('ReLU: values and gradient', async () => {
    const x = tf.tensor4d([-2, -0.5, 0.5, 3], [1, 1, 2, 2]);
    const relu = new ReLU();
    const y = relu.forward(x);
    expect(Array.from(await y.data())).toEqual([0, 0, 0.5, 3]);
    const error = await gradientCheck(([a]) => relu.forward(a as tf.Tensor4D), [x], { eps: 1e-3 });
    expect(error).toBeLessThan(1e-3);
    tf.dispose([x, y]);
  });

  it('Dropout2d: whole channels dropped, survivors scaled, seeded, identity in eval, gradient is the mask', async () => {
    const x = tf.ones([4, 3, 3, 8]) as tf.Tensor4D;
    const drop = new Dropout2d(0.5, new Rng(7));
    const y = drop.forward(x);
    const values = await y.data();
    let dropped = 0;
    for (let n = 0; n < 4; n++) {
      for (let c = 0; c < 8; c++) {
        const channel = new Set<number>();
        for (let p = 0; p < 9; p++) channel.add(values[(n * 9 + p) * 8 + c]!);
        expect(channel.size).toBe(1);
        const v = [...channel][0]!;
        expect([0, 2]).toContain(v);
        if (v === 0) dropped++;
      }
    }
    expect(dropped).toBeGreaterThan(4);
    expect(dropped).toBeLessThan(28);
    const same = new Dropout2d(0.5, new Rng(7)).forward(x);
    expect(Array.from(await same.data())).toEqual(Array.from(values));
    const replay = () => new Dropout2d(0.5, new Rng(7));
    const dx = tf.grad((a: tf.Tensor) => tf.sum(replay().forward(a as tf.Tensor4D)))(x);
    expect(Array.from(await dx.data())).toEqual(Array.from(values));
    drop.eval();
    const evalOut = drop.forward(x);
    expect(Array.from(await evalOut.data())).toEqual(Array.from(await x.data()));
    tf.dispose([x, y, same, dx, evalOut]);
  });

  it('Dropout: values dropped one by one (Caffe), survivors scaled, seeded, identity in eval, gradient is the mask', async () => {
    const x = tf.ones([2, 4, 4, 16]) as tf.Tensor4D;
    const y = new Dropout(0.25, new Rng(3)).forward(x);
    const values = Array.from(await y.data());
    const kept = values.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    // 512 draws at p 0.25: 128 expected dropped; within 5 standard deviations (sd ~9.8).
    expect(Math.abs(values.length - kept.length - 128)).toBeLessThan(50);
    // Not whole channels: some channel of some pixel row holds both a dropped and a kept value.
    const mixed = Array.from(
      { length: 16 },
      (_, c) => new Set(values.filter((_, i) => i % 16 === c && i < 256)),
    ).some((set) => set.size === 2);
    expect(mixed).toBe(true);
    const replay = () => new Dropout(0.25, new Rng(3));
    const again = replay().forward(x);
    expect(Array.from(await again.data())).toEqual(values);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(replay().forward(a as tf.Tensor4D)))(x);
    expect(Array.from(await dx.data())).toEqual(values);
    const drop = new Dropout(0.25, new Rng(3)).eval();
    const evalOut = drop.forward(x);
    expect(Array.from(await evalOut.data())).toEqual(Array.from(await x.data()));
    expect(() => new Dropout(1, new Rng(0))).toThrow(/\[0, 1\)/);
    tf.dispose([x, y, again, dx, evalOut]);
  });

  it('classifier: a 1x1 conv, normal(0.01) weights, zero bias, learning-rate multiplier', async () => {
    const score = classifier(8, 21, { rng: new Rng(8), lrMultiplier: 10 });
    expect(score.weight.shape).toEqual([1, 1, 8, 21]);
    expect(Array.from(await score.bias!.data()).every((v) => v === 0)).toBe(true);
    expect(score.namedParameters().map((p) => p.lrMultiplier)).toEqual([10, 10]);
    const zero = classifier(8, 21, { rng: new Rng(8), weightInit: zeros() });
    expect(Array.from(await zero.weight.data()).every((v) => v === 0)).toBe(true);
    score.dispose();
    zero.dispose();
  });

  it('ResizeConv2d equals a conv of the nearest-upsampled input, and its gradients match finite differences', async () => {
    const layer = new ResizeConv2d({
      inChannels: 2,
      outChannels: 3,
      kernelSize: 3,
      scaleFactor: 2,
      rng: new Rng(9),
    });
    expect(Object.keys(layer.stateDict())).toEqual(['conv.weight', 'conv.bias']);
    const x = randomTensor<tf.Rank.R4>([1, 3, 4, 2], 10);
    const y = layer.forward(x);
    const ref = tf.tidy(() =>
      tf.add(
        conv2d(resize(x, [6, 8], { mode: 'nearest' }), layer.conv.weight as tf.Tensor4D, {
          stride: [1, 1],
          dilation: [1, 1],
          padding: [1, 1, 1, 1],
        }),
        layer.conv.bias!,
      ),
    );
    expect(relativeError(await toArray(y), await toArray(ref))).toBeLessThan(1e-6);
    const error = await gradientCheck(([a]) => layer.forward(a as tf.Tensor4D), [x, layer.conv.weight]);
    expect(error).toBeLessThan(2e-3);
    tf.dispose([x, y, ref]);
    layer.dispose();
  });

  it('MaxPool2d and MaxUnpool2d modules round-trip an odd size', async () => {
    const pool = new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: true });
    const unpool = new MaxUnpool2d({ kernelSize: 2, stride: 2 });
    // Positive values: re-pooling the unpooled map must find the same maxima (zeros lose).
    const x = tf.tidy(() => tf.add(tf.abs(randomTensor<tf.Rank.R4>([1, 5, 7, 2], 11)), 0.1)) as tf.Tensor4D;
    const { output, switches } = pool.forwardWithSwitches(x);
    expect(output.shape).toEqual([1, 3, 4, 2]);
    const back = unpool.forward(output, switches, [5, 7]);
    expect(back.shape).toEqual([1, 5, 7, 2]);
    const repooled = pool.forward(back);
    expect(relativeError(await toArray(repooled), await toArray(output))).toBe(0);
    tf.dispose([x, output, switches, back, repooled]);
  });

  it('ConvTranspose2d module: weight [k, k, out, in], gradients match finite differences', async () => {
    const layer = new ConvTranspose2d({
      inChannels: 3,
      outChannels: 2,
      kernelSize: 4,
      stride: 2,
      padding: 1,
      rng: new Rng(12),
    });
    expect(layer.weight.shape).toEqual([4, 4, 2, 3]);
    const x = randomTensor<tf.Rank.R4>([1, 3, 2, 3], 13);
    const error = await gradientCheck(
      ([a]) => layer.forward(a as tf.Tensor4D),
      [x, layer.weight, layer.bias!],
    );
    expect(error).toBeLessThan(2e-3);
    x.dispose();
    layer.dispose();
  });
});
