import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type ResizeOptions, Upsample, resize } from '../src/index.js';
import { bedOfNails, interpolationMatrix } from '../src/ops/index.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { gradientCheck, randomTensor, relativeError, toArray } from './helpers/numeric.js';

const SIZES: Array<[[number, number], [number, number]]> = [
  [
    [5, 4],
    [10, 8],
  ],
  [
    [5, 7],
    [13, 9],
  ],
  [
    [9, 6],
    [4, 5],
  ],
  [
    [3, 3],
    [24, 24],
  ],
];

const CONVENTIONS: Array<[string, boolean, boolean]> = [
  ['align corners', true, false],
  ['half-pixel centres', false, true],
  ['legacy asymmetric', false, false],
];

describe('interpolation matrices (host)', () => {
  it('bicubic equals values worked out by hand from PyTorch formula (A = -0.75, edge taps clamped)', () => {
    const m = interpolationMatrix(4, 8, { mode: 'bicubic' });
    const input = [1, 2, 4, 8];
    const at = (o: number) => input.reduce((acc, v, i) => acc + v * m[o * 4 + i]!, 0);
    // o = 3: source 1.25, weights far(1.25), near(0.25), near(0.75), far(1.75) on taps 0..3.
    expect(at(3)).toBeCloseTo(2.41796875, 12);
    // o = 0: source -0.25, taps -2..1 clamp to 0, 0, 0, 1.
    expect(at(0)).toBeCloseTo(0.89453125, 12);
  });

  it('rows sum to one; bilinear reproduces linear ramps away from the borders (A = -0.75 bicubic only constants)', () => {
    for (const mode of ['bilinear', 'bicubic'] as const) {
      for (const alignCorners of [true, false]) {
        const m = interpolationMatrix(7, 17, { mode, alignCorners });
        for (let o = 0; o < 17; o++) {
          let sum = 0;
          let ramp = 0;
          for (let i = 0; i < 7; i++) {
            sum += m[o * 7 + i]!;
            ramp += i * m[o * 7 + i]!;
          }
          expect(sum).toBeCloseTo(1, 12);
          const source = alignCorners ? (o * 6) / 16 : ((o + 0.5) * 7) / 17 - 0.5;
          if (mode === 'bilinear' && source >= 1 && source <= 5) expect(ramp).toBeCloseTo(source, 12);
        }
      }
    }
  });
});

describe.each(BACKENDS)('resizing on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  for (const [name, alignCorners, halfPixelCenters] of CONVENTIONS) {
    it.each(SIZES)(`bilinear, ${name}, equals tf.image.resizeBilinear: %j -> %j`, async (from, to) => {
      const x = randomTensor<tf.Rank.R4>([2, ...from, 3], 1);
      const ours = resize(x, to, { mode: 'bilinear', alignCorners, halfPixelCenters });
      const ref = tf.image.resizeBilinear(x, to, alignCorners, halfPixelCenters);
      expect(relativeError(await toArray(ours), await toArray(ref))).toBeLessThan(1e-5);
      tf.dispose([x, ours, ref]);
    });
    it.each(SIZES)(`nearest, ${name}, equals tf.image.resizeNearestNeighbor: %j -> %j`, async (from, to) => {
      const x = randomTensor<tf.Rank.R4>([1, ...from, 2], 2);
      const ours = resize(x, to, { mode: 'nearest', alignCorners, halfPixelCenters });
      const ref = tf.image.resizeNearestNeighbor(x, to, alignCorners, halfPixelCenters);
      expect(relativeError(await toArray(ours), await toArray(ref))).toBe(0);
      tf.dispose([x, ours, ref]);
    });
  }

  const MODES: Array<[string, ResizeOptions]> = [
    ['nearest', { mode: 'nearest' }],
    ['bilinear', { mode: 'bilinear' }],
    ['bilinear align corners', { mode: 'bilinear', alignCorners: true }],
    ['bicubic', { mode: 'bicubic' }],
    ['bicubic align corners', { mode: 'bicubic', alignCorners: true }],
  ];
  it.each(MODES)('gradient matches finite differences: %s', async (_name, options) => {
    const x = randomTensor<tf.Rank.R4>([1, 3, 4, 2], 3);
    const error = await gradientCheck(([a]) => resize(a as tf.Tensor4D, [7, 9], options), [x]);
    expect(error).toBeLessThan(1e-3);
    x.dispose();
  });

  it('nearest x2 by a tile repeats each pixel, and its gradient sums the copies', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
    const up = resize(x, [4, 6], { mode: 'nearest' });
    expect(Array.from(await up.data())).toEqual([
      1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6,
    ]);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(resize(a as tf.Tensor4D, [4, 6], { mode: 'nearest' })))(x);
    expect(Array.from(await dx.data())).toEqual([4, 4, 4, 4, 4, 4]);
    tf.dispose([x, up, dx]);
  });

  it('bed of nails puts each value at the top-left of its block', async () => {
    const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]);
    const up = bedOfNails(x, [2, 3]);
    expect(up.shape).toEqual([1, 4, 6, 2]);
    const channel0 = tf.tidy(() => tf.reshape(tf.slice(up, [0, 0, 0, 0], [1, 4, 6, 1]), [24]));
    expect(Array.from(await channel0.data())).toEqual([
      1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const error = await gradientCheck(([a]) => bedOfNails(a as tf.Tensor4D, [2, 3]), [x]);
    expect(error).toBeLessThan(1e-3);
    tf.dispose([x, up, channel0]);
  });

  it('Upsample module: scale factor, size and modes', async () => {
    const x = randomTensor<tf.Rank.R4>([1, 3, 5, 2], 4);
    const byFactor = new Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(x);
    const bySize = new Upsample({ size: [6, 10], mode: 'bilinear' }).forward(x);
    expect(byFactor.shape).toEqual([1, 6, 10, 2]);
    expect(relativeError(await toArray(byFactor), await toArray(bySize))).toBe(0);
    const nails = new Upsample({ scaleFactor: 2, mode: 'bed-of-nails' }).forward(x);
    expect(nails.shape).toEqual([1, 6, 10, 2]);
    expect(() => new Upsample({ size: [6, 10], mode: 'bed-of-nails' })).toThrow(/integer scaleFactor/);
    tf.dispose([x, byFactor, bySize, nails]);
  });
});
