// The same forward as an independent reference written with real PyTorch: DeepLab-LargeFOV and
// DeepLab v2 (ASPP-L, multi-scale inputs) at width 1/8 on 8k+1 inputs, with our seeded weights
// handed to PyTorch (HWIO -> OIHW). torch's MaxPool2d(ceil_mode=True) applies Caffe's ceil rule,
// AvgPool2d(3, 1, 1) divides by 9 as Caffe's AVE pooling, and interpolate(align_corners=True)
// is the DeepLab fork's Interp.
import { Rng } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeepLabV1, DeepLabV2, type StrideEightSegmenter } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SCRIPT = String.raw`
import json, sys, os
import numpy as np
import torch
import torch.nn.functional as F
d = sys.argv[1]
spec = json.load(open(os.path.join(d, 'spec.json')))
blob = np.fromfile(os.path.join(d, 'weights.bin'), dtype=np.float32)
W = {}
for name, (offset, shape) in spec['weights'].items():
    a = blob[offset:offset + int(np.prod(shape))].reshape(shape)
    if len(shape) == 4:
        a = a.transpose(3, 2, 0, 1)  # HWIO -> OIHW
    W[name] = torch.from_numpy(np.ascontiguousarray(a)).double()
def conv(x, name, dilation=1):
    w = W[name + '.weight']
    pad = dilation * (w.shape[2] - 1) // 2
    return F.conv2d(x, w, W[name + '.bias'], padding=pad, dilation=dilation)
def vgg(x):
    blocks = [2, 2, 3, 3, 3]
    for b, n in enumerate(blocks):
        for i in range(n):
            x = F.relu(conv(x, 'backbone.conv%d_%d' % (b + 1, i + 1), 2 if b == 4 else 1))
        x = F.max_pool2d(x, 3, stride=2 if b < 3 else 1, padding=1, ceil_mode=True)
    return x
def branch(x, suffix, rate):
    x = F.relu(conv(x, 'fc6' + suffix, rate))
    x = F.relu(conv(x, 'fc7' + suffix))
    return conv(x, 'fc8' + suffix)
def scores(x):
    p5 = vgg(x)
    if spec['model'] == 'v1':
        return branch(F.avg_pool2d(p5, 3, stride=1, padding=1, count_include_pad=True), '', 12)
    return sum(branch(p5, '_%d' % (k + 1), r) for k, r in enumerate(spec['rates']))
n, h, w = spec['shape']
x = torch.from_numpy(np.fromfile(os.path.join(d, 'input.bin'), dtype=np.float32).reshape(n, h, w, 3)).double().permute(0, 3, 1, 2)
with torch.no_grad():
    s1 = scores(x)
    fused = s1
    for s in spec['scales'][1:]:
        size = [int(np.floor((h - 1) * s + 1e-9)) + 1, int(np.floor((w - 1) * s + 1e-9)) + 1]
        xs = F.interpolate(x, size=size, mode='bilinear', align_corners=True)
        fused = torch.max(fused, F.interpolate(scores(xs), size=s1.shape[2:], mode='bilinear', align_corners=True))
    out = F.interpolate(fused, size=(h, w), mode='bilinear', align_corners=True)
out.permute(0, 2, 3, 1).float().numpy().tofile(os.path.join(d, 'out.bin'))
`;

function reference(model: StrideEightSegmenter, spec: Record<string, unknown>, x: tf.Tensor4D): Float32Array {
  const weights: Record<string, [number, number[]]> = {};
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(model.stateDict())) {
    const data = t.dataSync() as Float32Array;
    weights[name] = [offset, t.shape];
    parts.push(data);
    offset += data.length;
  }
  const blob = new Float32Array(offset);
  let at = 0;
  for (const p of parts) {
    blob.set(p, at);
    at += p.length;
  }
  const input = x.dataSync() as Float32Array;
  const { files } = runTorchScript(SCRIPT, {
    files: {
      'spec.json': JSON.stringify({ ...spec, weights, shape: x.shape.slice(0, 3) }),
      'weights.bin': new Uint8Array(blob.buffer),
      'input.bin': new Uint8Array(input.buffer, input.byteOffset, input.byteLength),
    },
    read: ['out.bin'],
  });
  const out = files['out.bin']!;
  return new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
}

/** He-scaled weights and small random biases, so that the logits vary (the default init gives ~1e-4). */
function reseed(model: StrideEightSegmenter, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, t] of Object.entries(model.stateDict())) {
    const v = t as tf.Variable;
    const fanIn = t.rank === 4 ? t.shape[0]! * t.shape[1]! * t.shape[2]! : 1;
    const values = name.endsWith('.bias')
      ? rng.fillUniform(new Float32Array(t.size), -0.1, 0.1)
      : rng.fillNormal(new Float32Array(t.size), 0, Math.sqrt(2 / fanIn));
    v.assign(tf.tensor(values, t.shape));
  }
}

function compare(ours: tf.Tensor4D, theirs: Float32Array): { maxDiff: number; scale: number } {
  const a = ours.dataSync();
  expect(a.length).toBe(theirs.length);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - theirs[i]!));
    scale = Math.max(scale, Math.abs(theirs[i]!));
  }
  return { maxDiff, scale };
}

describe.skipIf(torchSkipReason() !== null)('the same forward as PyTorch', () => {
  it('DeepLab-LargeFOV (width 1/8, 41x33 input)', () => {
    const model = new DeepLabV1({ width: 1 / 8, numClasses: 5 }, new Rng(21));
    reseed(model, 21);
    model.eval();
    const x = tf.randomUniform([2, 41, 33, 3], -1, 1, 'float32', 21) as tf.Tensor4D;
    const ours = model.forward(x);
    const { maxDiff, scale } = compare(ours, reference(model, { model: 'v1', scales: [1] }, x));
    console.log(
      `deeplab-v1 vs PyTorch: max |diff| ${maxDiff.toExponential(2)} (logits up to ${scale.toFixed(4)})`,
    );
    expect(scale).toBeGreaterThan(0.1);
    expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, scale));
    tf.dispose([x, ours]);
    model.dispose();
  }, 120_000);

  it('DeepLab v2 ASPP-L with multi-scale inputs 1, 0.75, 0.5 (width 1/8, 33x49 input)', () => {
    const model = new DeepLabV2({ width: 1 / 8, numClasses: 4, scales: [1, 0.75, 0.5] }, new Rng(22));
    reseed(model, 22);
    model.eval();
    const x = tf.randomUniform([1, 33, 49, 3], -1, 1, 'float32', 22) as tf.Tensor4D;
    const ours = model.forward(x);
    const { maxDiff, scale } = compare(
      ours,
      reference(model, { model: 'v2', rates: [6, 12, 18, 24], scales: [1, 0.75, 0.5] }, x),
    );
    console.log(
      `deeplab-v2 MSC vs PyTorch: max |diff| ${maxDiff.toExponential(2)} (logits up to ${scale.toFixed(4)})`,
    );
    expect(scale).toBeGreaterThan(0.1);
    expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, scale));
    tf.dispose([x, ours]);
    model.dispose();
  }, 120_000);
});
