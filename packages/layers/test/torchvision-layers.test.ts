// The layers torchvision's ResNet, MobileNetV3 and segmentation heads need, against real PyTorch.
import { IMAGENET_NORMALIZATION, Rng } from '@semseg/core';
import { torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  Conv2d,
  DepthwiseConv2d,
  Dropout,
  Hardsigmoid,
  Hardswish,
  Sequential,
  TorchBatchNorm2d,
  adaptivePoolMatrix,
  torchNameMap,
} from '../src/index.js';
import { onBackendWithoutLeaks } from './helpers/backends.js';
import { maxAbsDiff, randomTensor } from './helpers/numeric.js';
import { type NamedArray, runTorch } from './helpers/torch-io.js';

const arrayOf = (t: tf.Tensor): NamedArray => ({
  shape: [...t.shape],
  data: Float32Array.from(t.dataSync()),
});
/** The values of what `fn` computes, its tensors released. */
function computed(fn: () => tf.Tensor): NamedArray {
  const t = tf.tidy(fn);
  const out = arrayOf(t);
  t.dispose();
  return out;
}

describe('adaptive average pooling bins', () => {
  it('are PyTorch floor/ceil bins, overlapping where the size does not divide (hand-computed)', () => {
    // 5 -> 3: [0, 2), [1, 4), [3, 5)
    const expected = [1 / 2, 1 / 2, 0, 0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0, 1 / 2, 1 / 2];
    expect(Array.from(adaptivePoolMatrix(5, 3))).toEqual(expected.map(Math.fround));
  });
});

const DEPTHWISE_CASES = [
  { kernelSize: 3, stride: 2, padding: 1, dilation: 1 },
  { kernelSize: 5, stride: 1, padding: 4, dilation: 2 },
  { kernelSize: 3, stride: 2, padding: 2, dilation: 2 },
] as const;

describe.skipIf(torchSkipReason() !== null)('against PyTorch on cpu', () => {
  onBackendWithoutLeaks('cpu');

  it('hardswish, hardsigmoid, adaptive pooling (1, 2, 3, 6), depthwise conv and its gradients', () => {
    const x = randomTensor<tf.Rank.R4>([2, 7, 9, 5], 1, 3);
    const g = randomTensor<tf.Rank.R4>([2, 7, 9, 5], 2);
    const ours: Record<string, NamedArray> = {};
    const inputs: Record<string, NamedArray> = { x: arrayOf(x) };
    ours.hardswish = computed(() => new Hardswish().forward(x));
    ours.hardsigmoid = computed(() => new Hardsigmoid().forward(x));
    for (const size of [1, 2, 3, 6])
      ours[`pool${size}`] = computed(() => new AdaptiveAvgPool2d(size).forward(x));
    const rng = new Rng(3);
    DEPTHWISE_CASES.forEach((geometry, i) => {
      const conv = new DepthwiseConv2d({ channels: 5, rng, ...geometry });
      inputs[`w${i}`] = arrayOf(conv.weight);
      inputs[`b${i}`] = arrayOf(conv.bias!);
      const y = conv.forward(x);
      ours[`dw${i}`] = arrayOf(y);
      const dy = randomTensor<tf.Rank.R4>(y.shape, 10 + i);
      inputs[`dy${i}`] = arrayOf(dy);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(conv.forward(x), dy)) as tf.Scalar,
        [conv.weight],
      );
      ours[`dw${i}_grad`] = arrayOf(grads[conv.weight.name]!);
      tf.dispose([y, dy, value, ...Object.values(grads)]);
      conv.dispose();
    });
    const reference = runTorch(
      `
a = load_arrays()
x = nchw(a['x'])
out = {'hardswish': nhwc(F.hardswish(x)), 'hardsigmoid': nhwc(F.hardsigmoid(x))}
for s in [1, 2, 3, 6]:
    out['pool%d' % s] = nhwc(F.adaptive_avg_pool2d(x, s))
cases = ${JSON.stringify(DEPTHWISE_CASES)}
for i, c in enumerate(cases):
    conv = nn.Conv2d(5, 5, c['kernelSize'], stride=c['stride'], padding=c['padding'], dilation=c['dilation'], groups=5)
    with torch.no_grad():
        conv.weight.copy_(a['w%d' % i].permute(3, 2, 0, 1))
        conv.bias.copy_(a['b%d' % i])
    y = conv(x)
    (y * nchw(a['dy%d' % i])).sum().backward()
    out['dw%d' % i] = nhwc(y)
    out['dw%d_grad' % i] = conv.weight.grad.permute(2, 3, 1, 0)
save_arrays(out)
`,
      inputs,
    );
    for (const [name, value] of Object.entries(ours)) {
      expect(value.shape, name).toEqual(reference[name]!.shape);
      expect(maxAbsDiff(value.data, reference[name]!.data), name).toBeLessThan(2e-5);
    }
    tf.dispose([x, g]);
  });

  it('TorchBatchNorm2d: batch statistics and running averages as torch.nn.BatchNorm2d (eps, momentum)', () => {
    const x = randomTensor<tf.Rank.R4>([3, 4, 5, 6], 4, 2);
    const bn = new TorchBatchNorm2d(6, { eps: 1e-3, momentum: 0.01 });
    tf.tidy(() => {
      bn.weight.assign(tf.linspace(0.5, 2, 6));
      bn.bias.assign(tf.linspace(-1, 1, 6));
    });
    const train = computed(() => bn.forward(x));
    bn.eval();
    const evaluated = computed(() => bn.forward(x));
    const reference = runTorch(
      `
a = load_arrays()
bn = nn.BatchNorm2d(6, eps=1e-3, momentum=0.01)
with torch.no_grad():
    bn.weight.copy_(torch.linspace(0.5, 2, 6)); bn.bias.copy_(torch.linspace(-1, 1, 6))
x = nchw(a['x'])
train = nhwc(bn(x))
bn.eval()
save_arrays({'train': train, 'eval': nhwc(bn(x)), 'mean': bn.running_mean, 'var': bn.running_var})
`,
      { x: arrayOf(x) },
    );
    expect(maxAbsDiff(train.data, reference.train!.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(evaluated.data, reference.eval!.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(bn.runningMean.dataSync(), reference.mean!.data)).toBeLessThan(1e-6);
    expect(maxAbsDiff(bn.runningVar.dataSync(), reference.var!.data)).toBeLessThan(1e-6);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
    x.dispose();
    bn.dispose();
  });
});

describe('frozen batch norm, dropout and name maps on cpu', () => {
  onBackendWithoutLeaks('cpu');

  it('frozen batch norm keeps statistics and affine parameters through training steps', () => {
    const rng = new Rng(5);
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, rng });
    const bn = new TorchBatchNorm2d(4, { frozen: true });
    tf.tidy(() => {
      bn.runningMean.assign(tf.tensor1d([0.1, -0.2, 0.3, 0]));
      bn.runningVar.assign(tf.tensor1d([1.5, 0.5, 2, 1]));
      bn.weight.assign(tf.tensor1d([1, 2, 0.5, 1]));
    });
    const net = new Sequential([conv, bn]);
    const before = Object.fromEntries(
      Object.entries(bn.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())]),
    );
    expect(net.parameters()).toEqual([conv.weight, conv.bias]);
    const x = randomTensor<tf.Rank.R4>([2, 6, 6, 3], 6);
    net.eval();
    const evalOut = tf.tidy(() => net.forward(x));
    net.train();
    const optimizer = tf.train.sgd(0.1);
    for (let step = 0; step < 3; step++) {
      optimizer.minimize(() => tf.mean(tf.square(net.forward(x))) as tf.Scalar, false, net.parameters());
    }
    const after = Object.fromEntries(
      Object.entries(bn.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())]),
    );
    expect(after).toEqual(before);
    // In training mode a frozen BN computes exactly what eval does (the conv moved, so re-run both).
    const trainOut = tf.tidy(() => net.forward(x));
    net.eval();
    const evalAgain = tf.tidy(() => net.forward(x));
    expect(maxAbsDiff(trainOut.dataSync(), evalAgain.dataSync())).toBe(0);
    expect(maxAbsDiff(evalOut.dataSync(), evalAgain.dataSync())).toBeGreaterThan(0);
    tf.dispose([x, evalOut, trainOut, evalAgain]);
    optimizer.dispose();
    net.dispose();
  });

  it('dropout zeroes about p of the values and scales the rest by 1 / (1 - p) in training only', () => {
    const drop = new Dropout(0.25, new Rng(7));
    const x = tf.ones([2, 50, 50, 4]) as tf.Tensor4D;
    const y = drop.forward(x);
    const values = y.dataSync();
    const zeros = values.filter((v) => v === 0).length / values.length;
    expect(zeros).toBeGreaterThan(0.23);
    expect(zeros).toBeLessThan(0.27);
    expect(values.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    drop.eval();
    const same = drop.forward(x);
    expect(Array.from(same.dataSync()).every((v) => v === 1)).toBe(true);
    tf.dispose([x, y, same]);
  });

  it('torchNameMap: identity names, conv layouts from the layer kind, num_batches_tracked ignored and exported', () => {
    const rng = new Rng(8);
    class Block extends Sequential {}
    const net = new Sequential([
      ['conv', new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, rng, bias: false })],
      ['bn', new TorchBatchNorm2d(4)],
      ['dw', new DepthwiseConv2d({ channels: 4, kernelSize: 3, rng })],
      ['fc', new Conv2d({ inChannels: 4, outChannels: 2, kernelSize: 1, rng })],
    ]);
    const whole = new Block([['backbone', net]]);
    const full = torchNameMap(whole, {
      description: 'test',
      normalization: IMAGENET_NORMALIZATION,
      linear: ['backbone.fc'],
    });
    expect(full.source('backbone.conv.weight')).toEqual({ key: 'backbone.conv.weight', layout: 'conv' });
    expect(full.source('backbone.bn.running_var')).toEqual({
      key: 'backbone.bn.running_var',
      layout: 'same',
    });
    expect(full.source('backbone.dw.weight')).toEqual({ key: 'backbone.dw.weight', layout: 'conv' });
    expect(full.source('backbone.fc.weight')).toEqual({
      key: 'backbone.fc.weight',
      layout: 'linear-as-conv',
    });
    expect(full.source('backbone.nothing')).toBeNull();
    expect(full.ignore!('backbone.bn.num_batches_tracked')).toBe(true);
    expect(full.exportExtras!()).toEqual([
      { key: 'backbone.bn.num_batches_tracked', dtype: 'int64', shape: [], value: 0 },
    ]);
    const backboneOnly = torchNameMap(whole, {
      description: 'test',
      normalization: IMAGENET_NORMALIZATION,
      prefix: 'backbone.',
      ignore: (key) => key.startsWith('fc.'),
    });
    expect(backboneOnly.source('backbone.bn.weight')).toEqual({ key: 'bn.weight', layout: 'same' });
    expect(backboneOnly.ignore!('fc.bias')).toBe(true);
    expect(backboneOnly.exportExtras!()[0]!.key).toBe('bn.num_batches_tracked');
    whole.dispose();
  });
});
