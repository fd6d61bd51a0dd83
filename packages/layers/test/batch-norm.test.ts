import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BatchNorm2d } from '../src/index.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { gradientCheck, randomTensor } from './helpers/numeric.js';

describe.each(BACKENDS)('BatchNorm2d on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it('training: batch statistics, running averages with momentum 0.1 and the unbiased variance', async () => {
    const bn = new BatchNorm2d(1);
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = bn.forward(x);
    // mean 2.5, biased variance 1.25
    const scale = 1 / Math.sqrt(1.25 + 1e-5);
    const values = Array.from(await y.data());
    [-1.5, -0.5, 0.5, 1.5].forEach((d, i) => expect(values[i]).toBeCloseTo(d * scale, 5));
    expect((await bn.runningMean!.data())[0]).toBeCloseTo(0.25, 6);
    // unbiased variance 1.25 * 4 / 3
    expect((await bn.runningVar!.data())[0]).toBeCloseTo(0.9 + 0.1 * (5 / 3), 6);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'runningMean', 'runningVar']);
    const trainable = bn.namedParameters().map((p) => [p.name, p.trainable, p.weightDecay]);
    expect(trainable).toEqual([
      ['weight', true, false],
      ['bias', true, false],
    ]);
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('eval: running statistics, and the affine parameters applied', async () => {
    const bn = new BatchNorm2d(2);
    tf.tidy(() => {
      bn.runningMean!.assign(tf.tensor1d([1, -1]));
      bn.runningVar!.assign(tf.tensor1d([4, 0.25]));
      bn.weight!.assign(tf.tensor1d([2, 3]));
      bn.bias!.assign(tf.tensor1d([0.5, -0.5]));
    });
    bn.eval();
    const x = tf.tensor4d([3, 0, 5, -2], [1, 1, 2, 2]);
    const y = bn.forward(x);
    const expected = [
      ((3 - 1) / Math.sqrt(4 + 1e-5)) * 2 + 0.5,
      ((0 + 1) / Math.sqrt(0.25 + 1e-5)) * 3 - 0.5,
      ((5 - 1) / Math.sqrt(4 + 1e-5)) * 2 + 0.5,
      ((-2 + 1) / Math.sqrt(0.25 + 1e-5)) * 3 - 0.5,
    ];
    const values = Array.from(await y.data());
    expected.forEach((e, i) => expect(values[i]).toBeCloseTo(e, 4));
    // eval leaves the running statistics alone
    expect(Array.from(await bn.runningMean!.data())).toEqual([1, -1]);
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('momentum null: cumulative average over the batches seen', async () => {
    const bn = new BatchNorm2d(1, { momentum: null });
    const a = tf.tensor4d([0, 2], [2, 1, 1, 1]);
    const b = tf.tensor4d([4, 8], [2, 1, 1, 1]);
    tf.dispose([bn.forward(a), bn.forward(b)]);
    expect((await bn.runningMean!.data())[0]).toBeCloseTo((1 + 6) / 2, 6);
    expect((await bn.runningVar!.data())[0]).toBeCloseTo((2 + 8) / 2, 5);
    expect((await bn.numBatchesTracked!.data())[0]).toBe(2);
    tf.dispose([a, b]);
    bn.dispose();
  });

  it('training gradients (input, weight, bias) match finite differences', async () => {
    const bn = new BatchNorm2d(3);
    const x = randomTensor<tf.Rank.R4>([2, 3, 2, 3], 1, 2);
    tf.tidy(() => {
      bn.weight!.assign(randomTensor([3], 2));
      bn.bias!.assign(randomTensor([3], 3));
    });
    // The layer reads its own variables: the check perturbs them in place.
    const error = await gradientCheck(
      ([input]) => bn.forward(input as tf.Tensor4D),
      [x, bn.weight!, bn.bias!],
      {
        eps: 1e-2,
      },
    );
    expect(error).toBeLessThan(3e-3);
    x.dispose();
    bn.dispose();
  });

  it('rejects a single value per channel in training, as PyTorch', () => {
    const bn = new BatchNorm2d(2);
    const x = tf.zeros([1, 1, 1, 2]) as tf.Tensor4D;
    expect(() => bn.forward(x)).toThrow(/more than one value/);
    x.dispose();
    bn.dispose();
  });
});
