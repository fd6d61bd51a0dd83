// VGG16 from the files Caffe and PyTorch users hold: BVLC's VGG_ILSVRC_16_layers layout (a V1
// caffemodel with InnerProduct fc6/fc7 and legacy 4-d blobs, written by python3-protobuf from
// caffe.proto) and torchvision's vgg16 / vgg16_bn state dicts (torchvision's own make_layers and
// VGG classes, written by torch.save), at width 1/16 with the classifier resized to fit.
// References: PyTorch's forward (Caffe's is the same network on BGR input).
import { readFileSync } from 'node:fs';
import { Rng } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { VGG16 } from '../src/index.js';

const CAFFE_PROTO = readFileSync(
  new URL('../../../weights/test/fixtures/caffe.proto', import.meta.url),
  'utf8',
);
const skip = torchSkipReason() !== null;
const SIZE = 224;

const SCRIPT = String.raw`
import sys, json, subprocess, numpy as np, torch, torch.nn as nn
from torchvision.models.vgg import VGG, make_layers, cfgs
d = sys.argv[1]
subprocess.run(['protoc', '--python_out=' + d, 'caffe.proto'], cwd=d, check=True)
sys.path.insert(0, d)
import caffe_pb2
torch.manual_seed(0)
S = int(sys.argv[2]) if len(sys.argv) > 2 else ${SIZE}
cfg = [v if v == 'M' else v // 16 for v in cfgs['D']]
out = {}
x = torch.rand(1, 3, S, S) * 2 - 1
for bn in (False, True):
    m = VGG(make_layers(cfg, batch_norm=bn), num_classes=10, init_weights=False)
    m.classifier[0] = nn.Linear(32 * 7 * 7, 256)
    m.classifier[3] = nn.Linear(256, 256)
    m.classifier[6] = nn.Linear(256, 10)
    with torch.no_grad():
        for p in m.parameters(): p.normal_(0, 0.1)
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.2); mod.running_var.uniform_(0.5, 2)
    m.eval()
    name = 'vgg16_bn' if bn else 'vgg16'
    torch.save(m.state_dict(), d + '/' + name + '.pth')
    with torch.no_grad():
        pool5 = m.features(x)
        fc7 = m.classifier[:5](torch.flatten(m.avgpool(pool5), 1))
    out[name] = {'pool5': pool5[0].permute(1, 2, 0).reshape(-1).tolist(), 'fc7': fc7.reshape(-1).tolist()}
    if not bn:
        # The same weights as VGG_ILSVRC_16_layers lays them out: V1 layers, legacy num/channels/height/width.
        net = caffe_pb2.NetParameter(name='VGG_ILSVRC_16_layers')
        T = caffe_pb2.V1LayerParameter
        convs = [l for l in m.features if isinstance(l, nn.Conv2d)]
        names = ['conv%d_%d' % (b, i) for b, n in enumerate([2, 2, 3, 3, 3], 1) for i in range(1, n + 1)]
        def add(name, kind, w, b):
            l = net.layers.add(name=name, type=kind)
            for arr in (w, b):
                a = arr.detach().numpy()
                s = [1] * (4 - a.ndim) + list(a.shape)
                blob = l.blobs.add(num=s[0], channels=s[1], height=s[2], width=s[3])
                blob.data.extend(a.reshape(-1).tolist())
            net.layers.add(name='relu' + name[2:] if name.startswith('fc') else 'relu' + name[4:], type=T.RELU)
        for name, c in zip(names, convs): add(name, T.CONVOLUTION, c.weight, c.bias)
        for name, i in (('fc6', 0), ('fc7', 3), ('fc8', 6)):
            add(name, T.INNER_PRODUCT, m.classifier[i].weight, m.classifier[i].bias)
        open(d + '/VGG_ILSVRC_16_layers.caffemodel', 'wb').write(net.SerializeToString())
out['input'] = x[0].permute(1, 2, 0).reshape(-1).tolist()
json.dump(out, open(d + '/out.json', 'w'))
`;

interface Reference {
  input: number[];
  vgg16: { pool5: number[]; fc7: number[] };
  vgg16_bn: { pool5: number[]; fc7: number[] };
}

function relativeError(got: Float32Array, want: readonly number[]): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return worst / Math.max(scale, 1e-6);
}

describe.skipIf(skip)('VGG16 from VGG_ILSVRC_16_layers.caffemodel and torchvision vgg16 / vgg16_bn', () => {
  let files: Record<string, Uint8Array> = {};
  let ref: Reference;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    files = runTorchScript(SCRIPT, {
      files: { 'caffe.proto': CAFFE_PROTO },
      read: ['vgg16.pth', 'vgg16_bn.pth', 'VGG_ILSVRC_16_layers.caffemodel', 'out.json'],
    }).files;
    ref = JSON.parse(new TextDecoder().decode(files['out.json'])) as Reference;
  }, 120_000);

  const cases = [
    ['VGG_ILSVRC_16_layers.caffemodel', false, 'caffe', 'vgg16', 'bgr'],
    ['vgg16.pth', false, 'pytorch', 'vgg16', 'rgb'],
    ['vgg16_bn.pth', true, 'pytorch', 'vgg16_bn', 'rgb'],
  ] as const;
  for (const [name, batchNorm, format, reference, order] of cases) {
    it(`${name}: pool5 and fc7 (InnerProduct / Linear as a 7x7 conv) match`, async () => {
      const vgg = new VGG16({ width: 1 / 16, batchNorm }, new Rng(1));
      vgg.eval();
      const report = await vgg.loadWeights({ name, data: files[name]! });
      expect(report.format).toBe(format);
      // torchvision's classifier has no batch norm: our fc6_bn / fc7_bn stay at identity statistics.
      expect(report.notInSource.every((n) => /^fc[67]_bn\./.test(n))).toBe(true);
      expect(report.notInSource).toHaveLength(batchNorm ? 8 : 0);
      expect(report.normalization.channelOrder).toBe(order);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(ref.input, [1, SIZE, SIZE, 3]);
      const f = vgg.forward(x);
      expect(relativeError((await f.pool5.data()) as Float32Array, ref[reference].pool5)).toBeLessThan(1e-5);
      // With batch norm, fc6_bn / fc7_bn at identity statistics still divide by sqrt(1 + 1e-5).
      const fc7Tolerance = batchNorm ? 5e-5 : 1e-5;
      expect(relativeError((await f.fc7!.data()) as Float32Array, ref[reference].fc7)).toBeLessThan(
        fc7Tolerance,
      );
      tf.dispose([x, f.pool3, f.pool4, f.pool5, f.fc7!]);
      expect(tf.memory().numTensors).toBe(before);
      vgg.dispose();
    }, 60_000);
  }

  it('a file for another width is one line naming the file and the filters', async () => {
    const vgg = new VGG16({ width: 1 / 8 }, new Rng(1));
    await expect(vgg.loadWeights({ name: 'vgg16.pth', data: files['vgg16.pth']! })).rejects.toThrow(
      /^vgg16\.pth: ImageNet VGG16 weights need width 1 .*8 conv1_1 filters; the file: 4\)$/,
    );
    vgg.dispose();
  });
});
