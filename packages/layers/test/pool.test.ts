import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type PoolGeometry,
  maxPool2d,
  maxPool2dWithSwitches,
  maxUnpool2d,
  poolOutputLength,
} from '../src/index.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { distinctTensor, gradientCheck, maxAbsDiff, randomTensor, toArray } from './helpers/numeric.js';

const pool = (k: number, s: number, p: number, ceilMode: boolean): PoolGeometry => ({
  kernel: [k, k],
  stride: [s, s],
  padding: [p, p],
  ceilMode,
});

/** Straightforward max pooling on the host: returns values and PyTorch-style switches. */
function referencePool(values: Float32Array, [n, h, w, c]: number[], g: PoolGeometry) {
  const oh = poolOutputLength(h!, g.kernel[0], g.stride[0], g.padding[0], g.ceilMode);
  const ow = poolOutputLength(w!, g.kernel[1], g.stride[1], g.padding[1], g.ceilMode);
  const out = new Float32Array(n! * oh * ow * c!);
  const switches = new Int32Array(out.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        for (let ch = 0; ch < c!; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let where = -1;
          for (let i = 0; i < g.kernel[0]; i++)
            for (let j = 0; j < g.kernel[1]; j++) {
              const r = y * g.stride[0] - g.padding[0] + i;
              const q = x * g.stride[1] - g.padding[1] + j;
              if (r < 0 || q < 0 || r >= h! || q >= w!) continue;
              const v = values[((b * h! + r) * w! + q) * c! + ch]!;
              if (v > best) {
                best = v;
                where = r * w! + q;
              }
            }
          const o = ((b * oh + y) * ow + x) * c! + ch;
          out[o] = best;
          switches[o] = where;
        }
  return { out, switches, shape: [n!, oh, ow, c!] };
}

describe('pool output sizes (Caffe / PyTorch rule)', () => {
  it('floor and ceil mode, with the last-window rule', () => {
    expect(poolOutputLength(7, 2, 2, 0, false)).toBe(3);
    expect(poolOutputLength(7, 2, 2, 0, true)).toBe(4);
    expect(poolOutputLength(6, 2, 2, 0, true)).toBe(3);
    // DeepLab's 3x3 stride 2 pad 1 pool: 321 -> 161 in ceil mode.
    expect(poolOutputLength(321, 3, 2, 1, true)).toBe(161);
    // The window that would start in the right padding is dropped: 5 + 2*1 - 2 = 5 -> ceil(5/2) + 1 = 4 -> 3.
    expect(poolOutputLength(5, 2, 2, 1, true)).toBe(3);
    expect(poolOutputLength(5, 2, 2, 1, false)).toBe(3);
  });

  it('a window larger than the input: one output in ceil mode, an error in floor mode (as PyTorch)', () => {
    // torch.nn.MaxPool2d(2, 2, ceil_mode=True)(torch.ones(1, 1, 1, 1)).shape == (1, 1, 1, 1);
    // without ceil_mode PyTorch raises "Output size is too small".
    expect(poolOutputLength(1, 2, 2, 0, true)).toBe(1);
    expect(poolOutputLength(1, 3, 2, 1, true)).toBe(1);
    expect(() => poolOutputLength(1, 2, 2, 0, false)).toThrow(/larger than the input 1/);
    expect(() => poolOutputLength(1, 3, 2, 0, true)).toThrow(/larger than the input 1/);
  });
});

describe.each(BACKENDS)('max pooling and unpooling on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it('hand-computed 2x2 ceil-mode pooling of an odd 3x5 input, with switches', async () => {
    // One channel:
    //  1  5  2  0  7
    //  3 -1  4  6  2
    // -2  8  0  9 -3
    const x = tf.tensor4d([1, 5, 2, 0, 7, 3, -1, 4, 6, 2, -2, 8, 0, 9, -3], [1, 3, 5, 1]);
    const { output, switches } = maxPool2dWithSwitches(x, pool(2, 2, 0, true));
    expect(output.shape).toEqual([1, 2, 3, 1]);
    expect(Array.from(await output.data())).toEqual([5, 6, 7, 8, 9, -3]);
    expect(Array.from(await switches.data())).toEqual([1, 8, 4, 11, 13, 14]);
    tf.dispose([x, output, switches]);
  });

  it('2x2 ceil-mode pooling of a 1x2 and a 1x1 map (the deepest SegNet pool of a small input)', async () => {
    const x = tf.tensor4d([-4, -1, 3, 2], [1, 1, 2, 2]);
    const { output, switches } = maxPool2dWithSwitches(x, pool(2, 2, 0, true));
    expect(output.shape).toEqual([1, 1, 1, 2]);
    expect(Array.from(await output.data())).toEqual([3, 2]);
    expect(Array.from(await switches.data())).toEqual([1, 1]);
    const unpooled = maxUnpool2d(output, switches, pool(2, 2, 0, true), [1, 2]);
    expect(Array.from(await unpooled.data())).toEqual([0, 0, 3, 2]);
    const single = tf.tensor4d([-7], [1, 1, 1, 1]);
    const one = maxPool2dWithSwitches(single, pool(2, 2, 0, true));
    expect(Array.from(await one.output.data())).toEqual([-7]);
    expect(Array.from(await one.switches.data())).toEqual([0]);
    tf.dispose([x, output, switches, unpooled, single, one.output, one.switches]);
  });

  it('ties go to the first position in the window, in values, switches and gradient', async () => {
    // Rows [2, 2, -1, -3] and [2, -3, -1, -1]: three 2s tie in the first window, three -1s in the second.
    const x = tf.tensor4d([2, 2, -1, -3, 2, -3, -1, -1], [1, 2, 4, 1]);
    const g = pool(2, 2, 0, false);
    const { output, switches } = maxPool2dWithSwitches(x, g);
    expect(Array.from(await output.data())).toEqual([2, -1]);
    expect(Array.from(await switches.data())).toEqual([0, 2]);
    const dx = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(maxPool2d(a as tf.Tensor4D, g), tf.tensor4d([1, 10], [1, 1, 2, 1]))),
    )(x);
    expect(Array.from(await dx.data())).toEqual([1, 0, 10, 0, 0, 0, 0, 0]);
    tf.dispose([x, output, switches, dx]);
  });

  it('ties with overlapping windows and padding: first valid position in each window', async () => {
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const g = pool(3, 2, 1, false);
    const { output, switches } = maxPool2dWithSwitches(x, g);
    expect(Array.from(await switches.data())).toEqual([0, 1, 4, 5]);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(maxPool2d(a as tf.Tensor4D, g)))(x);
    expect(Array.from(await dx.data())).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([x, output, switches, dx]);
  });

  it('gradient is right where every value of a window is negative (wasm MaxPoolGrad is not)', async () => {
    const x = tf.tensor4d([-5, -2, -7, -1, -4, -3, -9, -8], [1, 2, 4, 1]);
    const dx = tf.grad((a: tf.Tensor) =>
      tf.sum(tf.mul(maxPool2d(a as tf.Tensor4D, pool(2, 2, 0, false)), tf.tensor4d([3, 4], [1, 1, 2, 1]))),
    )(x);
    expect(Array.from(await dx.data())).toEqual([0, 3, 0, 4, 0, 0, 0, 0]);
    dx.dispose();
    x.dispose();
  });

  const GEOMETRIES: Array<[string, number[], PoolGeometry]> = [
    ['2x2/2 even', [2, 6, 4, 3], pool(2, 2, 0, false)],
    ['2x2/2 ceil odd', [1, 7, 5, 2], pool(2, 2, 0, true)],
    ['3x3/2 pad 1 ceil (DeepLab)', [1, 9, 8, 2], pool(3, 3 - 1, 1, true)],
    ['3x3/1 pad 1 (DeepLab pool4/5)', [1, 5, 6, 2], pool(3, 1, 1, false)],
    [
      '3x2/2x3 pad [1,0] floor',
      [1, 8, 9, 2],
      { kernel: [3, 2], stride: [2, 3], padding: [1, 0], ceilMode: false },
    ],
  ];

  it.each(GEOMETRIES)('values and switches equal a host reference: %s', async (_name, shape, g) => {
    const x = randomTensor<tf.Rank.R4>(shape, 11);
    const ref = referencePool(Float32Array.from(await x.data()), shape, g);
    const { output, switches } = maxPool2dWithSwitches(x, g);
    expect(output.shape).toEqual(ref.shape);
    expect(maxAbsDiff(await output.data(), ref.out)).toBe(0);
    expect(Array.from(await switches.data())).toEqual(Array.from(ref.switches));
    tf.dispose([x, output, switches]);
  });

  it.each(GEOMETRIES)('max pool gradient matches finite differences: %s', async (_name, shape, g) => {
    const x = distinctTensor(shape, 12, 0.05);
    const error = await gradientCheck(([a]) => maxPool2d(a as tf.Tensor4D, g), [x], { eps: 1e-2 });
    expect(error).toBeLessThan(1e-3);
    x.dispose();
  });

  it.each(GEOMETRIES)('unpool gradient matches finite differences: %s', async (_name, shape, g) => {
    const x = distinctTensor(shape, 13, 0.05);
    const { output, switches } = maxPool2dWithSwitches(x, g);
    const size: [number, number] = [shape[1]!, shape[2]!];
    const decoded = randomTensor<tf.Rank.R4>(output.shape, 14);
    const error = await gradientCheck(([a]) => maxUnpool2d(a as tf.Tensor4D, switches, g, size), [decoded]);
    expect(error).toBeLessThan(1e-3);
    tf.dispose([x, output, switches, decoded]);
  });

  if (backend === 'cpu') {
    it('gradient equals tfjs built-in maxPool gradient (cpu, no ties)', async () => {
      const x = distinctTensor([2, 6, 8, 3], 15);
      const dy = randomTensor<tf.Rank.R4>([2, 3, 4, 3], 16);
      const ours = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(maxPool2d(a as tf.Tensor4D, pool(2, 2, 0, false)), dy)),
      )(x);
      const builtIn = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), dy)),
      )(x);
      expect(maxAbsDiff(await ours.data(), await builtIn.data())).toBe(0);
      tf.dispose([x, dy, ours, builtIn]);
    });
  }

  it('unpool puts values at their switches, PyTorch-style, including an odd output size', async () => {
    const x = tf.tensor4d([1, 5, 2, 0, 7, 3, -1, 4, 6, 2, -2, 8, 0, 9, -3], [1, 3, 5, 1]);
    const g = pool(2, 2, 0, true);
    const { output, switches } = maxPool2dWithSwitches(x, g);
    const decoded = tf.tensor4d([10, 20, 30, 40, 50, 60], [1, 2, 3, 1]);
    // Default size (2-1)*2+2 = 4 x 6 is too big for an odd 3 x 5 input: outputSize settles it.
    const unpooled = maxUnpool2d(decoded, switches, g, [3, 5]);
    expect(unpooled.shape).toEqual([1, 3, 5, 1]);
    expect(Array.from(await unpooled.data())).toEqual([0, 10, 0, 0, 30, 0, 0, 0, 20, 0, 0, 40, 0, 50, 60]);
    tf.dispose([x, output, switches, decoded, unpooled]);
  });

  it('unpool of the pooled values restores exactly the maxima (zeros elsewhere)', async () => {
    const shape = [2, 7, 6, 3];
    const x = distinctTensor(shape, 17);
    const g = pool(2, 2, 0, true);
    const { output, switches } = maxPool2dWithSwitches(x, g);
    const restored = maxUnpool2d(output, switches, g, [7, 6]);
    const xs = await x.data();
    const rs = await restored.data();
    const ref = referencePool(Float32Array.from(xs), shape, g);
    const expected = new Float32Array(xs.length);
    for (let i = 0; i < ref.switches.length; i++) {
      const ch = i % 3;
      const b = Math.floor(i / (ref.shape[1]! * ref.shape[2]! * 3));
      expected[(b * 42 + ref.switches[i]!) * 3 + ch] = ref.out[i]!;
    }
    expect(maxAbsDiff(rs, expected)).toBe(0);
    tf.dispose([x, output, switches, restored]);
  });

  it('overlapping windows that share a maximum: the latest window wins, as PyTorch on the CPU', async () => {
    // 1 x 5 row, kernel 3 stride 1: windows [0..2], [1..3], [2..4] all pick the 9 at column 2.
    const x = tf.tensor4d([1, 2, 9, 3, 4], [1, 1, 5, 1]);
    const g: PoolGeometry = { kernel: [1, 3], stride: [1, 1], padding: [0, 0], ceilMode: false };
    const { output, switches } = maxPool2dWithSwitches(x, g);
    expect(Array.from(await switches.data())).toEqual([2, 2, 2]);
    const decoded = tf.tensor4d([10, 20, 30], [1, 1, 3, 1]);
    const unpooled = maxUnpool2d(decoded, switches, g, [1, 5]);
    expect(Array.from(await unpooled.data())).toEqual([0, 0, 30, 0, 0]);
    tf.dispose([x, output, switches, decoded, unpooled]);
  });
});
