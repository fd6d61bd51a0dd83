import { Rng, createModel, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { FCN, initFromCoarser } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);
}

describe('FCN', () => {
  it('reproduces the reference crop offsets (voc-fcn*s: 19; 5, 27; 5, 9, 31) and aligns compact mode at 0', () => {
    const offsets = (variant: '32s' | '16s' | '8s', alignment: 'reference' | 'compact') => {
      const model = new FCN(variant, { width: 1 / 32, alignment }, new Rng(0));
      const result = model.stages.map((s) => s.cropOffset);
      model.dispose();
      return result;
    };
    expect(offsets('32s', 'reference')).toEqual([19]);
    expect(offsets('16s', 'reference')).toEqual([5, 27]);
    expect(offsets('8s', 'reference')).toEqual([5, 9, 31]);
    expect(offsets('8s', 'compact')).toEqual([0, 0, 0]);
    expect(offsets('32s', 'compact')).toEqual([0]);
  });

  it.each([
    ['32s', 'reference', 17, 23],
    ['16s', 'reference', 32, 32],
    ['8s', 'reference', 21, 30],
    ['8s', 'reference', 1, 1],
    ['8s', 'compact', 33, 47],
    ['16s', 'compact', 64, 64],
  ] as const)('FCN-%s (%s) outputs N x H x W x C for %ix%i', (variant, alignment, h, w) => {
    const model = new FCN(variant, { width: 1 / 32, numClasses: 5, alignment }, new Rng(1));
    model.eval();
    const x = tf.randomUniform([2, h, w, 3]) as tf.Tensor4D;
    const baseline = tf.memory().numTensors;
    const y = model.forward(x);
    expect(y.shape).toEqual([2, h, w, 5]);
    // Zero-initialised score layers: the first forward is all zeros, as the reference.
    expect(maxAbs(y)).toBe(0);
    y.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
    model.dispose();
  });

  it('has about 134.5M parameters at width 1 (FCN-8s, 21 classes)', () => {
    const model = new FCN('8s', {}, new Rng(0));
    // VGG16 to fc7: 134,260,544. score_fr 4096*21 + 21 = 86,037; score_pool4 512*21 + 21 = 10,773;
    // score_pool3 256*21 + 21 = 5,397; upscore2 and upscore_pool4 4*4*21*21 = 7,056 each (no bias);
    // upscore8 16*16*21*21 = 112,896. Total 134,489,759.
    expect(model.numParameters()).toBe(134_489_759);
    // The upsampling layers are fixed by default, as the reference.
    expect(model.numParameters(true)).toBe(134_489_759 - 2 * 7_056 - 112_896);
    model.dispose();
  }, 120_000);

  it('a bilinear-initialised upsampler reproduces bilinear upsampling of the coarse scores', () => {
    const model = new FCN('8s', { width: 1 / 32, numClasses: 3 }, new Rng(2));
    for (const [stage, factor] of [
      [model.stages[0]!, 2],
      [model.stages[2]!, 8],
    ] as const) {
      const coarse = tf.randomUniform([1, 6, 7, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
      const up = stage.upsample.forward(coarse);
      // Output pixel o of a k=2f, s=f, unpadded transposed conv sits at coarse coordinate
      // (o + 0.5 - f) / f; half-pixel bilinear resizing puts o at (o + 0.5 - f/2) / f: shift by f/2.
      const shifted = tf.slice(up, [0, factor / 2, factor / 2, 0], [1, 6 * factor, 7 * factor, 3]);
      const bilinear = tf.image.resizeBilinear(coarse, [6 * factor, 7 * factor], false, true);
      // Compare the interior (the borders differ: the transposed conv fades, resizing clamps).
      const inner = (t: tf.Tensor4D) => tf.slice(t, [0, factor, factor, 0], [1, 4 * factor, 5 * factor, 3]);
      const diff = tf.tidy(() => maxAbs(tf.sub(inner(shifted), inner(bilinear))));
      expect(diff).toBeLessThan(1e-5);
      tf.dispose([coarse, up, shifted, bilinear]);
    }
    model.dispose();
  });

  it('scales the skips in the at-once variant', () => {
    const model = new FCN(
      '8s',
      { width: 1 / 32, numClasses: 2, atOnce: true, alignment: 'compact' },
      new Rng(3),
    );
    model.eval();
    const pool4Score = model.scorePool4!;
    pool4Score.weight.assign(tf.onesLike(pool4Score.weight));
    const x = tf.randomUniform([1, 64, 64, 3]) as tf.Tensor4D;
    const withScale = model.forward(x);
    const plain = new FCN('8s', { width: 1 / 32, numClasses: 2, alignment: 'compact' }, new Rng(3));
    plain.eval();
    plain.scorePool4!.weight.assign(tf.onesLike(plain.scorePool4!.weight));
    const without = plain.forward(x);
    // Only the pool4 path is non-zero, and it is linear in pool4: the outputs differ by exactly 0.01.
    const ratio = tf.tidy(
      () => maxAbs(tf.sub(tf.mul(without, 0.01), withScale)) / Math.max(maxAbs(without) * 0.01, 1e-12),
    );
    expect(maxAbs(without)).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1e-4);
    tf.dispose([x, withScale, without]);
    model.dispose();
    plain.dispose();
  });

  it('staged init 32s -> 16s -> 8s keeps the shared weights bit-exact and starts new layers at zero', () => {
    const config = { width: 1 / 32, numClasses: 4 };
    const fcn32 = new FCN('32s', config, new Rng(4));
    // Pretend fcn32 was trained: perturb its score layer.
    fcn32.scoreFr.weight.assign(tf.randomNormal(fcn32.scoreFr.weight.shape, 0, 1, 'float32', 9));
    const fcn16 = new FCN('16s', config, new Rng(5));
    const report16 = initFromCoarser(fcn16, fcn32.stateDict(), 'fcn32s');
    expect(report16.kept.sort()).toEqual([
      'score_pool4.bias',
      'score_pool4.weight',
      'upscore16.weight',
      'upscore2.weight',
    ]);
    const fcn8 = new FCN('8s', config, new Rng(6));
    initFromCoarser(fcn8, fcn16.stateDict(), 'fcn16s');
    const s32 = fcn32.stateDict();
    const s8 = fcn8.stateDict();
    for (const name of Object.keys(s32).filter((n) => n !== 'upscore.weight')) {
      expect(Array.from(s8[name]!.dataSync()), name).toEqual(Array.from(s32[name]!.dataSync()));
    }
    expect(maxAbs(s8['score_pool3.weight']!)).toBe(0);
    expect(() => initFromCoarser(fcn8, { x: tf.zeros([1]) }, 'other.json')).toThrow(
      /other\.json is not an FCN state/,
    );
    for (const m of [fcn32, fcn16, fcn8]) m.dispose();
  });

  it('is registered as fcn32s, fcn16s and fcn8s with a validated config', () => {
    for (const name of ['fcn32s', 'fcn16s', 'fcn8s']) expect(getModelDefinition(name).name).toBe(name);
    const model = createModel('fcn16s', { width: 1 / 32, numClasses: 3 }, { rng: new Rng(0) }) as FCN;
    expect(model.variant).toBe('16s');
    expect(model.numClasses).toBe(3);
    model.dispose();
    expect(() => createModel('fcn8s', { numClasses: 1, alignment: 'tight' }, { rng: new Rng(0) })).toThrow(
      /invalid config for model 'fcn8s': numClasses: .*; alignment: /,
    );
  });
});
