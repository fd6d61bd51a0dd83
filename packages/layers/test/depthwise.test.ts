// Depthwise convolution's gradients are forward ops (tfjs-backend-wasm has no depthwise backprop
// kernels): against real PyTorch on both backends, finite differences, and tfjs's own on cpu.
import { Rng } from '@semseg/core';
import { torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DepthwiseConv2d } from '../src/index.js';
import { trainableDepthwiseConv2d } from '../src/ops/depthwise.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { gradientCheck, maxAbsDiff, randomTensor } from './helpers/numeric.js';
import { type NamedArray, runTorch } from './helpers/torch-io.js';

const arrayOf = (t: tf.Tensor): NamedArray => ({
  shape: [...t.shape],
  data: Float32Array.from(t.dataSync()),
});

// MobileNetV3's geometries (3x3 and 5x5, stride 1 and 2, dilation 2 in the last stage) on odd sizes.
const CASES = [
  { kernelSize: 3, stride: 1, padding: 1, dilation: 1 },
  { kernelSize: 3, stride: 2, padding: 1, dilation: 1 },
  { kernelSize: 5, stride: 2, padding: 2, dilation: 1 },
  { kernelSize: 5, stride: 1, padding: 4, dilation: 2 },
] as const;

describe.each(BACKENDS)('depthwise conv gradients on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it.skipIf(torchSkipReason() !== null)(
    'input and weight gradients equal PyTorch (groups = channels)',
    () => {
      const x = randomTensor<tf.Rank.R4>([2, 9, 7, 3], 21);
      const inputs: Record<string, NamedArray> = { x: arrayOf(x) };
      const ours: Record<string, NamedArray> = {};
      const rng = new Rng(5);
      CASES.forEach((geometry, i) => {
        const conv = new DepthwiseConv2d({ channels: 3, rng, ...geometry });
        inputs[`w${i}`] = arrayOf(conv.weight);
        inputs[`b${i}`] = arrayOf(conv.bias!);
        const y = conv.forward(x);
        const dy = randomTensor<tf.Rank.R4>(y.shape, 30 + i);
        inputs[`dy${i}`] = arrayOf(dy);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(conv.forward(a as tf.Tensor4D), dy)))(x);
        const byVariable = tf.variableGrads(
          () => tf.sum(tf.mul(conv.forward(x), dy)) as tf.Scalar,
          [conv.weight],
        );
        ours[`y${i}`] = arrayOf(y);
        ours[`dx${i}`] = arrayOf(dx);
        ours[`dw${i}`] = arrayOf(byVariable.grads[conv.weight.name]!);
        tf.dispose([y, dy, dx, byVariable.value, ...Object.values(byVariable.grads)]);
        conv.dispose();
      });
      const reference = runTorch(
        `
a = load_arrays()
out = {}
for i, c in enumerate(${JSON.stringify(CASES)}):
    x = nchw(a['x']).clone().requires_grad_(True)
    conv = nn.Conv2d(3, 3, c['kernelSize'], stride=c['stride'], padding=c['padding'], dilation=c['dilation'], groups=3)
    with torch.no_grad():
        conv.weight.copy_(a['w%d' % i].permute(3, 2, 0, 1))
        conv.bias.copy_(a['b%d' % i])
    y = conv(x)
    (y * nchw(a['dy%d' % i])).sum().backward()
    out['y%d' % i] = nhwc(y)
    out['dx%d' % i] = nhwc(x.grad)
    out['dw%d' % i] = conv.weight.grad.permute(2, 3, 1, 0)
save_arrays(out)
`,
        inputs,
      );
      for (const [name, value] of Object.entries(ours)) {
        expect(value.shape, name).toEqual(reference[name]!.shape);
        expect(maxAbsDiff(value.data, reference[name]!.data), name).toBeLessThan(2e-5);
      }
      x.dispose();
    },
  );

  it('finite differences agree (stride 2, odd size: the rows no window reaches get zero)', async () => {
    const x = randomTensor<tf.Rank.R4>([1, 6, 5, 2], 3);
    const filter = randomTensor<tf.Rank.R4>([3, 3, 2, 1], 4);
    const error = await gradientCheck(
      ([a, w]) => trainableDepthwiseConv2d(a as tf.Tensor4D, w as tf.Tensor4D, [2, 2]),
      [x, filter],
    );
    expect(error).toBeLessThan(2e-3);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(trainableDepthwiseConv2d(a as tf.Tensor4D, filter, [2, 2])))(
      x,
    );
    // 6 rows, windows at rows 0 and 2 (3x3, stride 2) reach rows 0-4: row 5 has no gradient.
    const lastRow = tf.slice(dx, [0, 5, 0, 0], [1, 1, 5, 2]);
    expect(Array.from(await lastRow.data())).toEqual(new Array(10).fill(0));
    tf.dispose([x, filter, dx, lastRow]);
  });
});

describe('depthwise conv gradients against tfjs on cpu', () => {
  onBackendWithoutLeaks('cpu');

  it("equal tf.depthwiseConv2d's own gradients", async () => {
    const x = randomTensor<tf.Rank.R4>([2, 11, 8, 4], 8);
    const filter = randomTensor<tf.Rank.R4>([5, 5, 4, 1], 9);
    for (const stride of [1, 2] as const) {
      const f = (fn: typeof trainableDepthwiseConv2d) => (a: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.square(fn(a as tf.Tensor4D, w as tf.Tensor4D, [stride, stride])));
      const tfjs = (a: tf.Tensor4D, w: tf.Tensor4D, s: [number, number]) =>
        tf.depthwiseConv2d(a, w, s, 'valid');
      const ours = tf.grads(f(trainableDepthwiseConv2d))([x, filter]);
      const theirs = tf.grads(f(tfjs))([x, filter]);
      for (let k = 0; k < 2; k++)
        expect(maxAbsDiff(await ours[k]!.data(), await theirs[k]!.data())).toBeLessThan(1e-4);
      tf.dispose([...ours, ...theirs]);
    }
    tf.dispose([x, filter]);
  });
});
