// U-Net against an independent PyTorch build with our weights: valid convolutions with
// centre-cropped skips (native and mirror-completed sizes, numpy's reflect padding) and same padding.
import { Rng } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet } from '../src/index.js';

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
    n = int(np.prod(shape)); T[name] = torch.tensor(raw[off:off + n].reshape(shape)); off += n
hwio = lambda name: T[name].permute(3, 2, 0, 1)
pad = 1 if man['padding'] == 'same' else 0
depth = man['depth']
def double(x, p):
    x = F.relu(F.conv2d(x, hwio(p + '.conv1.weight'), T[p + '.conv1.bias'], padding=pad))
    return F.relu(F.conv2d(x, hwio(p + '.conv2.weight'), T[p + '.conv2.bias'], padding=pad))
def unet(x):
    skips = []
    for l in range(depth):
        x = double(x, 'down%d' % (l + 1)); skips.append(x); x = F.max_pool2d(x, 2)
    x = double(x, 'bottom')
    for l in reversed(range(depth)):
        u = F.conv_transpose2d(x, hwio('up%d.up.weight' % (l + 1)), T['up%d.up.bias' % (l + 1)], stride=2)
        s = skips[l]; t = (s.shape[2] - u.shape[2]) // 2; le = (s.shape[3] - u.shape[3]) // 2
        x = double(torch.cat([s[:, :, t:t + u.shape[2], le:le + u.shape[3]], u], 1), 'up%d.block' % (l + 1))
    return F.conv2d(x, hwio('head.weight'), T['head.bias'])
x = np.fromfile(d + '/input.bin', dtype='<f4').reshape(man['input'])
n, h, w, c = x.shape
run_h, run_w = man['run']
# Mirror completion at the bottom/right (numpy 'reflect': the edge is not repeated).
x = np.pad(x, ((0, 0), (0, run_h - h), (0, run_w - w), (0, 0)), mode='reflect')
y = unet(torch.tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
oh, ow = man['output']
y[:, :oh, :ow].contiguous().numpy().astype('<f4').tofile(d + '/output.bin')
`;

describe.skipIf(torchSkipReason() !== null)('U-Net against PyTorch', () => {
  it.each([
    ['valid', 60, 60, 60, 60],
    ['valid', 63, 70, 64, 72],
    ['same', 37, 45, 40, 48],
  ] as const)('%s padding at %ix%i (run at %ix%i) equals the PyTorch network', (padding, h, w, rh, rw) => {
    const depth = 2;
    const model = new UNet({ padding, depth, width: 1 / 16, numClasses: 3 }, new Rng(5));
    model.eval();
    const entries = model.namedParameters();
    const x = tf.randomUniform([2, h, w, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const output = model.outputSize([h, w]);
    const ours = tf.tidy(() => model.forward(x).dataSync() as Float32Array);
    const parts = entries.map((e) => e.variable.dataSync() as Float32Array);
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
      bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
      offset += p.byteLength;
    }
    const input = x.dataSync() as Float32Array;
    const manifest = {
      tensors: entries.map((e) => [e.name, e.variable.shape]),
      padding,
      depth,
      input: x.shape,
      run: [rh, rw],
      output,
    };
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
