import { Module, Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { NonFiniteLossError, ParameterOptimizer, Trainer, learningRate } from '../src/index.js';
import { PixelModel } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

class Two extends Module {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor() {
    super();
    this.w = this.registerParameter('w', tf.tensor1d([1, -2]), { lrMultiplier: 10 });
    this.b = this.registerParameter('b', tf.tensor1d([0.5]), { weightDecay: false });
  }
}

/** Values rounded to 6 significant digits (float32 arithmetic vs hand-computed decimals). */
function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync()).map((v) => Number(v.toPrecision(6)));
}

describe('learning-rate schedules', () => {
  it('poly, step and fixed give the hand-computed rates', () => {
    expect(learningRate({ policy: 'fixed', baseLr: 0.01, maxSteps: 10 }, 7)).toBe(0.01);
    // poly: 0.01 * (1 - 5/10)^0.9 = 0.01 * 0.5^0.9 = 0.0053589...
    expect(learningRate({ policy: 'poly', baseLr: 0.01, maxSteps: 10 }, 5)).toBeCloseTo(0.0053589, 6);
    expect(learningRate({ policy: 'poly', baseLr: 0.01, maxSteps: 10, power: 1 }, 10)).toBe(0);
    expect(
      learningRate({ policy: 'step', baseLr: 1, maxSteps: 100, stepSize: 30, gamma: 0.1 }, 65),
    ).toBeCloseTo(0.01, 12);
    expect(() => learningRate({ policy: 'step', baseLr: 1, maxSteps: 1 }, 0)).toThrow(/stepSize/);
  });
});

describe('ParameterOptimizer', () => {
  it('SGD: Caffe momentum update with per-parameter decay and lr multiplier (hand-computed)', () => {
    const m = new Two();
    const opt = new ParameterOptimizer(m.namedParameters(), { type: 'sgd', momentum: 0.9, weightDecay: 0.1 });
    const grads = { [m.w.name]: tf.tensor1d([1, 1]), [m.b.name]: tf.tensor1d([2]) };
    opt.apply(grads, 0.01);
    // w: v = 0.01*10*(g + 0.1*w) = 0.1*([1,1] + [0.1,-0.2]) = [0.11, 0.08]; w = [0.89, -2.08].
    expect(values(m.w)).toEqual([0.89, -2.08]);
    // b (no decay, lr x1): v = 0.01 * 2 = 0.02; b = 0.48.
    expect(values(m.b)).toEqual([0.48]);
    opt.apply(grads, 0.01);
    // w: v = 0.9*[0.11,0.08] + 0.1*([1,1] + [0.089,-0.208]) = [0.099+0.1089, 0.072+0.0792] = [0.2079, 0.1512].
    expect(values(m.w)).toEqual([0.6821, -2.2312]);
    expect(values(m.b)).toEqual([0.442]);
    tf.dispose(Object.values(grads));
    opt.dispose();
    m.dispose();
  });

  it('Adam: bias-corrected first step moves each weight by lr * lr_mult', () => {
    const m = new Two();
    const opt = new ParameterOptimizer(m.namedParameters(), { type: 'adam', weightDecay: 0 });
    const grads = { [m.w.name]: tf.tensor1d([3, -0.5]), [m.b.name]: tf.tensor1d([2]) };
    opt.apply(grads, 0.001);
    // First Adam step: mHat / sqrt(vHat) = sign(g) (up to eps), times lr * lr_mult.
    expect(values(m.w)).toEqual([0.99, -1.99]);
    expect(values(m.b)).toEqual([0.499]);
    expect(Object.keys(opt.state())).toEqual(['w.m', 'w.v', 'b.m', 'b.v']);
    tf.dispose(Object.values(grads));
    opt.dispose();
    m.dispose();
  });

  it('restores its state exactly and refuses a state of another optimizer', () => {
    const m = new Two();
    const a = new ParameterOptimizer(m.namedParameters(), { type: 'sgd' });
    const grads = { [m.w.name]: tf.tensor1d([1, 2]), [m.b.name]: tf.tensor1d([3]) };
    a.apply(grads, 0.1);
    const b = new ParameterOptimizer(m.namedParameters(), { type: 'sgd' });
    b.loadState(a.state(), a.iterations);
    expect(values(b.state()['w.momentum']!)).toEqual(values(a.state()['w.momentum']!));
    const adam = new ParameterOptimizer(m.namedParameters(), { type: 'adam' });
    expect(() => adam.loadState(a.state(), 1, 'ckpt')).toThrow(/ckpt: optimizer state lacks 4 slot/);
    tf.dispose(Object.values(grads));
    for (const o of [a, b, adam]) o.dispose();
    m.dispose();
  });
});

describe('Trainer', () => {
  const batch = (rng: Rng) => {
    const images = rng.fillUniform(new Float32Array(2 * 8 * 8 * 3), -1, 1);
    const labels = new Uint8Array(2 * 8 * 8).map((_, i) => (i % 7 === 0 ? 255 : images[i * 3]! > 0 ? 1 : 0));
    return { images, labels };
  };

  it('trains 50 steps with the loss falling and tf.memory().numTensors flat', async () => {
    const rng = new Rng(1);
    const model = new PixelModel(2, rng);
    const trainer = new Trainer({
      model,
      optimizer: { type: 'sgd', momentum: 0.9 },
      schedule: { policy: 'poly', baseLr: 0.5, maxSteps: 50 },
    });
    const { images, labels } = batch(rng);
    const first = await trainer.trainStep(images, labels, [2, 8, 8]);
    const baseline = tf.memory().numTensors;
    let last = first;
    for (let i = 1; i < 50; i++) last = await trainer.trainStep(images, labels, [2, 8, 8]);
    expect(tf.memory().numTensors).toBe(baseline);
    expect(last.step).toBe(50);
    expect(last.loss).toBeLessThan(first.loss * 0.7);
    trainer.dispose();
    model.dispose();
  });

  it('stops on a non-finite loss without touching the weights', async () => {
    const rng = new Rng(2);
    const model = new PixelModel(2, rng);
    const trainer = new Trainer({
      model,
      optimizer: { type: 'sgd' },
      schedule: { policy: 'fixed', baseLr: 0.1, maxSteps: 5 },
    });
    const { labels } = batch(rng);
    const images = new Float32Array(2 * 8 * 8 * 3).fill(Number.NaN);
    const before = Array.from(model.weight.dataSync());
    await expect(trainer.trainStep(images, labels, [2, 8, 8])).rejects.toThrow(NonFiniteLossError);
    await expect(trainer.trainStep(images, labels, [2, 8, 8])).rejects.toThrow(/loss became NaN at step 1/);
    expect(Array.from(model.weight.dataSync())).toEqual(before);
    expect(trainer.step).toBe(0);
    trainer.dispose();
    model.dispose();
  });
});
