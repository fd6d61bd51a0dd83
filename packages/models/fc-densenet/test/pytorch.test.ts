// FC-DenseNet against an independent PyTorch build of the authors' Lasagne graph (BN in training
// mode, Lasagne's centre cropping of both inputs before each concatenation), with our weights.
import { Rng } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { FcDenseNet } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SCRIPT = String.raw`
import sys, json, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
man = json.load(open(d + '/manifest.json'))
raw = np.fromfile(d + '/tensors.bin', dtype='<f4')
T, off = {}, 0
for name, shape in man['tensors']:
    n = int(np.prod(shape)) if shape else 1
    T[name] = torch.tensor(raw[off:off + n].reshape(shape)); off += n
hwio = lambda name: T[name].permute(3, 2, 0, 1)  # HWIO -> OIHW; [kh,kw,out,in] -> [in,out,kh,kw]
def bn_relu_conv(x, p, k):
    x = F.batch_norm(x, None, None, T[p + '.bn.weight'], T[p + '.bn.bias'], training=True, eps=1e-4)
    return F.conv2d(F.relu(x), hwio(p + '.conv.weight'), T[p + '.conv.bias'], padding=k // 2)
def block(x, p, n):
    new = []
    for j in range(n):
        f = bn_relu_conv(x, '%s.layer%d' % (p, j + 1), 3); new.append(f); x = torch.cat([x, f], 1)
    return x, torch.cat(new, 1)
def centre_concat(a, b):  # lasagne ConcatLayer(cropping=[None, None, 'center', 'center'])
    h, w = min(a.shape[2], b.shape[2]), min(a.shape[3], b.shape[3])
    crop = lambda t: t[:, :, (t.shape[2] - h) // 2:(t.shape[2] - h) // 2 + h, (t.shape[3] - w) // 2:(t.shape[3] - w) // 2 + w]
    return torch.cat([crop(a), crop(b)], 1)
L = man['layers']; P = (len(L) - 1) // 2
x = torch.tensor(np.fromfile(d + '/input.bin', dtype='<f4').reshape(man['input'])).permute(0, 3, 1, 2)
x = F.conv2d(x, hwio('conv0.weight'), T['conv0.bias'], padding=1)
skips = []
for i in range(P):
    x, _ = block(x, 'down%d' % (i + 1), L[i]); skips.append(x)
    x = F.max_pool2d(bn_relu_conv(x, 'td%d.layer' % (i + 1), 1), 2)
x, new = block(x, 'bottleneck', L[P])
for i in range(P):
    up = F.conv_transpose2d(new, hwio('tu%d.deconv.weight' % (i + 1)), T['tu%d.deconv.bias' % (i + 1)], stride=2)
    x, new = block(centre_concat(up, skips[P - 1 - i]), 'up%d' % (i + 1), L[P + 1 + i])
y = F.conv2d(x, hwio('classifier.weight'), T['classifier.bias'])
y.permute(0, 2, 3, 1).contiguous().numpy().astype('<f4').tofile(d + '/output.bin')
`;

describe.skipIf(torchSkipReason() !== null)('FC-DenseNet against PyTorch', () => {
  it.each([
    [37, 45],
    [40, 33],
  ])('equals the Lasagne graph in PyTorch at %ix%i (training-mode batch norm)', (h, w) => {
    const layersPerBlock = [2, 3, 1, 2, 3, 2, 1];
    const model = new FcDenseNet(
      '103',
      { numClasses: 5, growthRate: 3, layersPerBlock, firstConvChannels: 6, dropout: 0 },
      new Rng(11),
    );
    const entries = model.namedParameters();
    const x = tf.randomUniform([2, h, w, 3], -1, 1, 'float32', 12) as tf.Tensor4D;
    const ours = tf.tidy(() => model.forward(x).dataSync() as Float32Array);
    const parts = entries.map((e) => e.variable.dataSync() as Float32Array);
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
      bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
      offset += p.byteLength;
    }
    const manifest = {
      tensors: entries.map((e) => [e.name, e.variable.shape]),
      layers: layersPerBlock,
      input: x.shape,
    };
    const input = x.dataSync() as Float32Array;
    const run = runTorchScript(SCRIPT, {
      files: {
        'manifest.json': JSON.stringify(manifest),
        'tensors.bin': bytes,
        'input.bin': new Uint8Array(input.buffer, input.byteOffset, input.byteLength),
      },
      read: ['output.bin'],
    });
    const out = run.files['output.bin']!;
    const reference = new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
    expect(reference.length).toBe(ours.length);
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < ours.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - reference[i]!));
      maxRef = Math.max(maxRef, Math.abs(reference[i]!));
    }
    expect(maxRef).toBeGreaterThan(0.1);
    expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxRef));
    x.dispose();
    model.dispose();
  });
});
