import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  type PoolGeometry,
  conv2d,
  convTranspose2d,
  maxPool2d,
  maxPool2dWithSwitches,
  maxUnpool2d,
  resize,
  softmaxCrossEntropy,
} from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import {
  distinctTensor,
  gradientCheck,
  maxAbs,
  maxAbsDiff,
  randomTensor,
  relativeError,
  toArray,
} from './helpers/numeric.js';
import { TinyNet, tinyBatch } from './helpers/tiny-net.js';
import { setUpWebGpu } from './helpers/webgpu.js';

const unavailable = await setUpWebGpu();
// CI installs chromium (SwiftShader) and libvulkan1, so Dawn must find an adapter there: a skip in
// CI would hide a broken WebGPU path. A developer machine without them skips with the reason.
if (unavailable && process.env.CI) throw new Error(`WebGPU must run in CI: ${unavailable}`);
if (unavailable) console.warn(`WebGPU tests skipped: ${unavailable}`);

const CONVS: Array<
  [string, number[], number[], [number, number], [number, number], [number, number, number, number]]
> = [
  ['3x3 pad 1', [1, 6, 5, 2], [3, 3, 2, 3], [1, 1], [1, 1], [1, 1, 1, 1]],
  ['3x3 stride 2 odd', [1, 7, 7, 2], [3, 3, 2, 2], [2, 2], [1, 1], [1, 1, 1, 1]],
  ['atrous 2', [1, 7, 9, 2], [3, 3, 2, 2], [1, 1], [2, 2], [2, 2, 2, 2]],
  ['atrous 12', [1, 13, 13, 2], [3, 3, 2, 2], [1, 1], [12, 12], [12, 12, 12, 12]],
];

const POOLS: Array<[string, number[], PoolGeometry]> = [
  ['2x2/2 ceil odd', [1, 5, 7, 2], { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true }],
  ['3x3/2 pad 1 ceil', [1, 7, 6, 2], { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true }],
];

describe.skipIf(unavailable !== null)('gradients on WebGPU (Dawn in Node)', () => {
  let baseline = 0;
  beforeAll(() => useBackend('webgpu'));
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it.each(CONVS)(
    'conv2d forward equals tf.conv2d and gradients match finite differences: %s',
    async (_n, xs, ws, stride, dilation, padding) => {
      const x = randomTensor<tf.Rank.R4>(xs, 1);
      const w = randomTensor<tf.Rank.R4>(ws, 2, 0.3);
      const g = { stride, dilation, padding };
      const ours = conv2d(x, w, g);
      const ref = tf.conv2d(
        x,
        w,
        stride,
        [
          [0, 0],
          [padding[0], padding[1]],
          [padding[2], padding[3]],
          [0, 0],
        ],
        'NHWC',
        dilation,
      );
      expect(relativeError(await toArray(ours), await toArray(ref))).toBeLessThan(1e-5);
      const error = await gradientCheck(([a, b]) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g), [x, w], {
        samples: 10,
      });
      expect(error).toBeLessThan(2e-3);
      tf.dispose([x, w, ours, ref]);
    },
  );

  it('transposed conv x2 (FCN) gradients match finite differences', async () => {
    const x = randomTensor<tf.Rank.R4>([1, 3, 4, 2], 3);
    const w = randomTensor<tf.Rank.R4>([4, 4, 2, 2], 4, 0.3);
    const g = {
      stride: [2, 2] as [number, number],
      dilation: [1, 1] as [number, number],
      padding: [1, 1] as [number, number],
      outputSize: [6, 8] as [number, number],
    };
    const error = await gradientCheck(
      ([a, b]) => convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, g),
      [x, w],
      { samples: 10 },
    );
    expect(error).toBeLessThan(2e-3);
    tf.dispose([x, w]);
  });

  it.each(POOLS)('max pool and unpool gradients match finite differences: %s', async (_n, shape, g) => {
    const x = distinctTensor(shape, 5);
    expect(await gradientCheck(([a]) => maxPool2d(a as tf.Tensor4D, g), [x], { samples: 12 })).toBeLessThan(
      1e-3,
    );
    const { output, switches } = maxPool2dWithSwitches(x, g);
    const decoded = randomTensor<tf.Rank.R4>(output.shape, 6);
    const size: [number, number] = [shape[1]!, shape[2]!];
    expect(
      await gradientCheck(([a]) => maxUnpool2d(a as tf.Tensor4D, switches, g, size), [decoded], {
        samples: 12,
      }),
    ).toBeLessThan(1e-3);
    tf.dispose([x, output, switches, decoded]);
  });

  it('max pool gradient is right where the window maximum is negative', async () => {
    const x = tf.tensor4d([-5, -2, -7, -1, -4, -3, -9, -8], [1, 2, 4, 1]);
    const g: PoolGeometry = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false };
    const dx = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(maxPool2d(a as tf.Tensor4D, g), tf.tensor4d([3, 4], [1, 1, 2, 1]))),
    )(x);
    expect(Array.from(await dx.data())).toEqual([0, 3, 0, 4, 0, 0, 0, 0]);
    tf.dispose([x, dx]);
  });

  it('bilinear and bicubic resize gradients match finite differences', async () => {
    const x = randomTensor<tf.Rank.R4>([1, 3, 4, 2], 7);
    for (const mode of ['bilinear', 'bicubic'] as const) {
      expect(
        await gradientCheck(([a]) => resize(a as tf.Tensor4D, [7, 9], { mode }), [x], { samples: 10 }),
      ).toBeLessThan(1e-3);
    }
    x.dispose();
  });

  it('batch norm (training) and the loss: gradients match finite differences', async () => {
    const bn = new BatchNorm2d(2);
    const x = randomTensor<tf.Rank.R4>([2, 3, 2, 2], 8, 2);
    expect(
      await gradientCheck(([a]) => bn.forward(a as tf.Tensor4D), [x, bn.weight!], { samples: 10 }),
    ).toBeLessThan(3e-3);
    const logits = randomTensor<tf.Rank.R4>([1, 3, 4, 3], 9, 2);
    const labels = Uint8Array.from([0, 1, 2, 255, 2, 1, 0, 0, 255, 1, 2, 2]);
    expect(
      await gradientCheck(([l]) => softmaxCrossEntropy(l as tf.Tensor4D, labels), [logits], { samples: 12 }),
    ).toBeLessThan(3e-3);
    tf.dispose([x, logits]);
    bn.dispose();
  });

  it('a model of every layer: same loss and gradients as cpu, and training steps do not leak', async () => {
    const run = async (backend: string) => {
      await useBackend(backend);
      const net = new TinyNet(1);
      const { x, labels } = tinyBatch(2);
      const { value, grads } = tf.variableGrads(() => net.loss(x, labels), net.parameters());
      const out: Record<string, Float32Array> = {};
      for (const p of net.namedParameters())
        out[p.name] = Float32Array.from(await grads[p.variable.name]!.data());
      const loss = (await value.data())[0]!;
      tf.dispose([x, value, ...Object.values(grads)]);
      net.dispose();
      return { loss, out };
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    expect(Math.abs(cpu.loss - gpu.loss)).toBeLessThan(1e-4 * Math.max(1, cpu.loss));
    for (const name of Object.keys(cpu.out)) {
      expect(
        maxAbsDiff(cpu.out[name]!, gpu.out[name]!) / Math.max(maxAbs(cpu.out[name]!), 1e-3),
        name,
      ).toBeLessThan(1e-3);
    }
    const net = new TinyNet(3);
    const { x, labels } = tinyBatch(4);
    const optimizer = tf.train.sgd(0.05);
    let steady = -1;
    for (let step = 0; step < 4; step++) {
      if (step === 1) steady = tf.memory().numTensors;
      const loss = optimizer.minimize(() => net.loss(x, labels), true, net.parameters())!;
      expect(Number.isFinite((await loss.data())[0])).toBe(true);
      loss.dispose();
    }
    expect(tf.memory().numTensors).toBe(steady);
    optimizer.dispose();
    x.dispose();
    net.dispose();
  });
});
