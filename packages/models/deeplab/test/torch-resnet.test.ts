// DeepLab v2 on ResNet-101 against torchvision's resnet101(replace_stride_with_dilation=[False,
// True, True]) plus the four 3x3 ASPP convs and MSC written in PyTorch, our seeded weights loaded
// into torchvision by name (the names are torchvision's), batch-norm statistics included.
import { Rng } from '@semseg/core';
import { nextMacrotask } from '@semseg/tooling/event-loop';
import { runTorchScriptAsync, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeepLabV2 } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SCRIPT = String.raw`
import json, sys, os
import numpy as np
import torch, torchvision
import torch.nn.functional as F
d = sys.argv[1]
spec = json.load(open(os.path.join(d, 'spec.json')))
blob = np.fromfile(os.path.join(d, 'weights.bin'), dtype=np.float32)
W = {}
for name, (offset, shape) in spec['weights'].items():
    a = blob[offset:offset + int(np.prod(shape))].reshape(shape)
    if len(shape) == 4:
        a = a.transpose(3, 2, 0, 1)
    W[name] = torch.from_numpy(np.ascontiguousarray(a)).double()
net = torchvision.models.resnet101(weights=None, replace_stride_with_dilation=[False, True, True]).double().eval()
state = {}
for k, v in W.items():
    if k.startswith('backbone.'):
        state[k[len('backbone.'):].replace('runningMean', 'running_mean').replace('runningVar', 'running_var')] = v
missing, unexpected = net.load_state_dict(state, strict=False)
assert all(m.endswith('num_batches_tracked') or m.startswith('fc.') for m in missing), missing
assert not [u for u in unexpected if not u.endswith('numBatchesTracked')], unexpected
def scores(x):
    h = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    h = net.layer4(net.layer3(net.layer2(net.layer1(h))))
    return sum(F.conv2d(h, W['fc1_c%d.weight' % i], W['fc1_c%d.bias' % i], padding=r, dilation=r) for i, r in enumerate(spec['rates']))
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

describe.skipIf(torchSkipReason() !== null)('DeepLab v2 ResNet-101 against torchvision', () => {
  it('the same MSC forward (1, 0.75, 0.5) on a 33x25 input', async () => {
    const model = new DeepLabV2({ backbone: 'resnet101', numClasses: 3 }, new Rng(31));
    const rng = new Rng(31);
    const weights: Record<string, [number, number[]]> = {};
    const parts: Float32Array[] = [];
    let offset = 0;
    for (const entry of model.namedEntries()) {
      const t = entry.variable;
      const name = entry.name;
      let values: Float32Array;
      if (name.endsWith('runningVar')) values = rng.fillUniform(new Float32Array(t.size), 0.5, 1.5);
      else if (name.endsWith('runningMean') || name.endsWith('.bias'))
        values = rng.fillUniform(new Float32Array(t.size), -0.1, 0.1);
      else if (t.rank === 1) values = rng.fillUniform(new Float32Array(t.size), 0.2, 0.4);
      else if (t.rank === 4) {
        const fanIn = t.shape[0]! * t.shape[1]! * t.shape[2]!;
        values = rng.fillNormal(new Float32Array(t.size), 0, Math.sqrt(2 / fanIn));
      } else values = t.dataSync() as Float32Array;
      t.assign(tf.tensor(values, t.shape));
      weights[name] = [offset, t.shape];
      parts.push(values);
      offset += values.length;
    }
    const blob = new Float32Array(offset);
    let at = 0;
    for (const p of parts) {
      blob.set(p, at);
      at += p.length;
    }
    model.eval();
    await nextMacrotask(); // between the heavy synchronous parts, so the worker answers vitest
    const x = tf.randomUniform([1, 33, 25, 3], -1, 1, 'float32', 31) as tf.Tensor4D;
    const scores = model.forward(x);
    const ours = scores.dataSync();
    scores.dispose();
    await nextMacrotask();
    const input = x.dataSync() as Float32Array;
    const { files } = await runTorchScriptAsync(SCRIPT, {
      files: {
        'spec.json': JSON.stringify({
          weights,
          shape: [1, 33, 25],
          rates: [6, 12, 18, 24],
          scales: [1, 0.75, 0.5],
        }),
        'weights.bin': new Uint8Array(blob.buffer),
        'input.bin': new Uint8Array(input.buffer, input.byteOffset, input.byteLength),
      },
      read: ['out.bin'],
    });
    const out = files['out.bin']!;
    const theirs = new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
    expect(theirs.length).toBe(ours.length);
    let maxDiff = 0;
    let scale = 0;
    for (let i = 0; i < ours.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
      scale = Math.max(scale, Math.abs(theirs[i]!));
    }
    console.log(
      `deeplab-v2 ResNet-101 MSC vs torchvision: max |diff| ${maxDiff.toExponential(2)} (logits up to ${scale.toFixed(3)})`,
    );
    expect(scale).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThan(1e-5 * scale);
    x.dispose();
    model.dispose();
  }, 300_000);
});
