import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Conv2d, l2WeightDecay, softmaxCrossEntropy } from '../src/index.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { gradientCheck, randomTensor } from './helpers/numeric.js';

// Pixel 0: logits (0, 0), label 0: -log(1/2). Pixel 1: ignored. Pixel 2: logits (2, -1), label 1.
const LOGITS = [0, 0, 1, 0, 2, -1];
const LABELS = Uint8Array.from([0, 255, 1]);
const LOSS0 = Math.log(2);
const LOSS2 = 1 + 2 + Math.log(Math.exp(2) + Math.exp(-1)) - 2;

describe.each(BACKENDS)('softmax cross-entropy and weight decay on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it('mean over valid pixels, ignoring 255', async () => {
    const logits = tf.tensor4d(LOGITS, [1, 1, 3, 2]);
    const loss = softmaxCrossEntropy(logits, LABELS);
    expect((await loss.data())[0]).toBeCloseTo((LOSS0 + LOSS2) / 2, 5);
    const sum = softmaxCrossEntropy(logits, LABELS, { reduction: 'sum' });
    expect((await sum.data())[0]).toBeCloseTo(LOSS0 + LOSS2, 5);
    const perPixel = softmaxCrossEntropy(logits, LABELS, { reduction: 'none' });
    expect(perPixel.shape).toEqual([1, 1, 3]);
    const values = await perPixel.data();
    expect(values[1]! + 0).toBe(0);
    tf.dispose([logits, loss, sum, perPixel]);
  });

  it('class weights: weighted mean normalised by the weights of the valid pixels (PyTorch)', async () => {
    const logits = tf.tensor4d(LOGITS, [1, 1, 3, 2]);
    const loss = softmaxCrossEntropy(logits, LABELS, { classWeights: [1, 3] });
    expect((await loss.data())[0]).toBeCloseTo((LOSS0 + 3 * LOSS2) / 4, 5);
    tf.dispose([logits, loss]);
  });

  it('ignored pixels get exactly zero gradient; the others softmax - onehot over the count', async () => {
    const logits = tf.tensor4d(LOGITS, [1, 1, 3, 2]);
    const grad = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor4D, LABELS))(logits);
    const g = await grad.data();
    expect([g[2]! + 0, g[3]! + 0]).toEqual([0, 0]);
    expect(g[0]).toBeCloseTo((0.5 - 1) / 2, 6);
    const p1 = Math.exp(-1) / (Math.exp(2) + Math.exp(-1));
    expect(g[5]).toBeCloseTo((p1 - 1) / 2, 6);
    tf.dispose([logits, grad]);
  });

  it('labels as an int32 tensor give the same loss', async () => {
    const logits = tf.tensor4d(LOGITS, [1, 1, 3, 2]);
    const labels = tf.tensor3d([0, 255, 1], [1, 1, 3], 'int32');
    const a = softmaxCrossEntropy(logits, labels);
    const b = softmaxCrossEntropy(logits, LABELS);
    expect((await a.data())[0]).toBe((await b.data())[0]);
    tf.dispose([logits, labels, a, b]);
  });

  it('a fully ignored batch gives loss 0 and zero gradient (not NaN)', async () => {
    const logits = tf.tensor4d(LOGITS, [1, 1, 3, 2]);
    const labels = Uint8Array.from([255, 255, 255]);
    const loss = softmaxCrossEntropy(logits, labels);
    expect((await loss.data())[0]).toBe(0);
    const grad = tf.grad((l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor4D, labels))(logits);
    expect(Array.from(await grad.data(), (v) => v + 0)).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([logits, loss, grad]);
  });

  it('rejects labels that are neither a class nor the ignore index', () => {
    const logits = tf.tensor4d(LOGITS, [1, 1, 3, 2]);
    expect(() => softmaxCrossEntropy(logits, Uint8Array.from([0, 2, 1]))).toThrow(/label 2 at index 1/);
    logits.dispose();
  });

  it('gradient matches finite differences, with and without class weights', async () => {
    const rng = new Rng(3);
    const labels = new Uint8Array(2 * 3 * 5);
    for (let i = 0; i < labels.length; i++) labels[i] = rng.bernoulli(0.2) ? 255 : rng.int(4);
    const logits = randomTensor<tf.Rank.R4>([2, 3, 5, 4], 4, 2);
    for (const classWeights of [undefined, [0.5, 2, 1, 3]]) {
      const error = await gradientCheck(
        ([l]) => softmaxCrossEntropy(l as tf.Tensor4D, labels, { classWeights }),
        [logits],
        {
          eps: 1e-2,
        },
      );
      expect(error).toBeLessThan(3e-3);
    }
    logits.dispose();
  });

  it('L2 weight decay: coefficient / 2 * sum of squares over decayed parameters, gradient coefficient * w', async () => {
    const conv = new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, rng: new Rng(5) });
    const w = Array.from(await conv.weight.data());
    const expected = (5e-4 / 2) * w.reduce((acc, v) => acc + v * v, 0);
    const penalty = l2WeightDecay(conv, 5e-4);
    expect((await penalty.data())[0]).toBeCloseTo(expected, 9);
    const { grads, value } = tf.variableGrads(() => l2WeightDecay(conv, 5e-4));
    expect(Object.keys(grads)).toEqual([conv.weight.name]);
    const g = await grads[conv.weight.name]!.data();
    for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(5e-4 * w[i]!, 9);
    tf.dispose([penalty, value, ...Object.values(grads)]);
    conv.dispose();
  });
});
