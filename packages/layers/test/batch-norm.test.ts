import { torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm2d, TorchBatchNorm2d } from '../src/index.js';
import { BACKENDS, onBackendWithoutLeaks, useBackend } from './helpers/backends.js';
import { gradientCheck, maxAbsDiff, randomTensor } from './helpers/numeric.js';
import { type NamedArray, runTorch } from './helpers/torch-io.js';

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

  it('normalises a channel whose mean dwarfs its deviation without cancellation (mean 1000, std 0.01)', async () => {
    const bn = new BatchNorm2d(2);
    const x = tf.tidy(
      () => tf.add(tf.mul(randomTensor<tf.Rank.R4>([2, 4, 4, 2], 23, 1), 0.01), 1000) as tf.Tensor4D,
    );
    const y = bn.forward(x);
    // The reference in float64 from the same float32 inputs.
    const values = (await x.data()) as Float32Array;
    const expected = new Float64Array(values.length);
    for (let c = 0; c < 2; c++) {
      const channel = values.filter((_, i) => i % 2 === c);
      const mean = channel.reduce((a, v) => a + v, 0) / channel.length;
      const variance = channel.reduce((a, v) => a + (v - mean) ** 2, 0) / channel.length;
      for (let i = c; i < values.length; i += 2)
        expected[i] = (values[i]! - mean) / Math.sqrt(variance + 1e-5);
    }
    expect(maxAbsDiff(await y.data(), expected)).toBeLessThan(1e-3);
    tf.dispose([x, y]);
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

/** Output and gradients (x, weight, bias) of a batch norm in training mode, with upstream `dy`. */
function trainingGradients(
  bn: { forward(x: tf.Tensor4D): tf.Tensor4D; weight: tf.Variable | null; bias: tf.Variable | null },
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
): Record<string, Float32Array> {
  const input = tf.variable(x);
  const variables = [input, ...(bn.weight && bn.bias ? [bn.weight, bn.bias] : [])];
  let y: tf.Tensor4D | null = null;
  const { value, grads } = tf.variableGrads(() => {
    // Kept: the output is an intermediate of the gradient's scope.
    y = tf.keep(bn.forward(input));
    return tf.sum(tf.mul(y, dy)) as tf.Scalar;
  }, variables);
  value.dispose();
  const read = (t: tf.Tensor) => Float32Array.from(t.dataSync());
  const output = y as unknown as tf.Tensor4D;
  const result: Record<string, Float32Array> = { y: read(output), dx: read(grads[input.name]!) };
  if (bn.weight && bn.bias) {
    result.dweight = read(grads[bn.weight.name]!);
    result.dbias = read(grads[bn.bias.name]!);
  }
  tf.dispose([output, input, ...Object.values(grads)]);
  return result;
}

describe.skipIf(torchSkipReason() !== null)('batch norm training gradients against PyTorch autograd', () => {
  // Channels far from zero mean and unit variance: the closed-form gradient must not cancel badly.
  const shape: [number, number, number, number] = [3, 5, 4, 6];
  let reference: Record<string, NamedArray>;
  let x: tf.Tensor4D;
  let dy: tf.Tensor4D;
  const inputs = () => {
    const a = tf.tidy(() => tf.add(tf.mul(randomTensor<tf.Rank.R4>(shape, 21, 1), 2.5), 4) as tf.Tensor4D);
    const b = randomTensor<tf.Rank.R4>(shape, 22, 1);
    return [a, b] as const;
  };
  beforeAll(async () => {
    await useBackend('cpu');
    const [a, b] = inputs();
    const named = (t: tf.Tensor): NamedArray => ({
      shape: [...t.shape],
      data: Float32Array.from(t.dataSync()),
    });
    reference = runTorch(
      `
a = load_arrays()
x0, g = nchw(a['x']), nchw(a['dy'])
out = {}
for name, bn in [('affine', nn.BatchNorm2d(6, eps=1e-3)), ('plain', nn.BatchNorm2d(6, affine=False))]:
    if bn.affine:
        with torch.no_grad():
            bn.weight.copy_(torch.linspace(0.5, 2, 6)); bn.bias.copy_(torch.linspace(-1, 1, 6))
    x = x0.clone().requires_grad_(True)
    y = bn(x)
    (y * g).sum().backward()
    out[name + '.y'] = nhwc(y.detach()); out[name + '.dx'] = nhwc(x.grad)
    if bn.affine:
        out[name + '.dweight'] = bn.weight.grad; out[name + '.dbias'] = bn.bias.grad
    out[name + '.mean'] = bn.running_mean; out[name + '.var'] = bn.running_var
save_arrays(out)
`,
      { x: named(a), dy: named(b) },
    );
    tf.dispose([a, b]);
  });

  describe.each(BACKENDS)('on %s', (backend) => {
    onBackendWithoutLeaks(backend);
    beforeAll(() => {
      [x, dy] = inputs();
    });
    afterAll(() => tf.dispose([x, dy]));

    it.each([
      ['affine', () => new BatchNorm2d(6, { eps: 1e-3 })],
      ['plain', () => new BatchNorm2d(6, { affine: false })],
      ['affine', () => new TorchBatchNorm2d(6, { eps: 1e-3 })],
    ] as const)('%s: output, running statistics and the gradients of x, weight and bias', (name, make) => {
      const bn = make();
      if (bn.weight && bn.bias)
        tf.tidy(() => {
          bn.weight!.assign(tf.linspace(0.5, 2, 6));
          bn.bias!.assign(tf.linspace(-1, 1, 6));
        });
      const ours = trainingGradients(bn, x, dy);
      const keys = name === 'affine' ? ['y', 'dx', 'dweight', 'dbias'] : ['y', 'dx'];
      expect(Object.keys(ours).sort()).toEqual([...keys].sort());
      for (const key of keys) {
        const expected = reference[`${name}.${key}`]!.data;
        // dweight and dbias sum 60 products of O(1) values.
        expect(maxAbsDiff(ours[key]!, expected), key).toBeLessThan(key.startsWith('d') ? 3e-5 : 1e-5);
      }
      const running =
        bn instanceof TorchBatchNorm2d ? [bn.runningMean, bn.runningVar] : [bn.runningMean!, bn.runningVar!];
      expect(maxAbsDiff(running[0]!.dataSync(), reference[`${name}.mean`]!.data)).toBeLessThan(1e-5);
      expect(maxAbsDiff(running[1]!.dataSync(), reference[`${name}.var`]!.data)).toBeLessThan(1e-5);
      bn.dispose();
    });
  });
});
