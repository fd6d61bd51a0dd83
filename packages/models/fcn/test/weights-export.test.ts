// export -> PyTorch: a small FCN-8s with seeded weights written as .pth and .safetensors, loaded
// by real PyTorch into a module tree with our names (load_state_dict(strict=True)), whose forward
// with the reference's semantics (conv1_1 pad 100, ceil pooling, the voc-fcn8s crops) equals ours;
// then the .pth comes back through importWeights unchanged.
import { type ModelDefinition, Rng, type StateDict, getModelDefinition } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../src/index.js';
import { exportWeights, importWeights } from '@semseg/engine';
import { readWeights } from '@semseg/weights';
import { beforeAll, describe, expect, it } from 'vitest';
import { fcnPytorchMap, fcnWeightMaps } from '../src/weight-maps.js';

const skip = torchSkipReason() !== null;

const SCRIPT = String.raw`
import sys, json, struct, torch, torch.nn as nn, torch.nn.functional as F
d = sys.argv[1]
spec = json.load(open(d + '/spec.json'))
H, W, shapes = spec['height'], spec['width'], spec['shapes']
deconvs = {'upscore2', 'upscore_pool4', 'upscore8'}
net = nn.Module(); net.backbone = nn.Module()
for name, shape in shapes.items():
    path, kind = name.rsplit('.', 1)
    parent, layer = (net.backbone, path[len('backbone.'):]) if path.startswith('backbone.') else (net, path)
    if hasattr(parent, layer): continue
    if layer in deconvs:
        kh, kw, o, i = shape
        setattr(parent, layer, nn.ConvTranspose2d(i, o, kh, stride=kh // 2, bias=False))
    else:
        kh, kw, i, o = shape
        setattr(parent, layer, nn.Conv2d(i, o, kh))
def load(sd):
    net.load_state_dict(sd, strict=True)
    return net
def forward(x):
    b = net.backbone
    c = lambda m, x, pad=0, relu=True: (F.relu if relu else (lambda y: y))(F.conv2d(x, m.weight, m.bias, padding=pad))
    pools = []
    blocks = [['conv1_1', 'conv1_2'], ['conv2_1', 'conv2_2'], ['conv3_1', 'conv3_2', 'conv3_3'],
              ['conv4_1', 'conv4_2', 'conv4_3'], ['conv5_1', 'conv5_2', 'conv5_3']]
    for k, block in enumerate(blocks):
        for i, name in enumerate(block):
            x = c(getattr(b, name), x, 100 if k == 0 and i == 0 else 1)
        x = F.max_pool2d(x, 2, 2, ceil_mode=True); pools.append(x)
    x = c(b.fc7, c(b.fc6, x))
    s = c(net.score_fr, x, relu=False)
    crop = lambda t, off, like: t[:, :, off:off + like.shape[2], off:off + like.shape[3]]
    u = net.upscore2(s); s = u + crop(c(net.score_pool4, pools[3], relu=False), 5, u)
    u = net.upscore_pool4(s); s = u + crop(c(net.score_pool3, pools[2], relu=False), 9, u)
    return crop(net.upscore8(s), 31, torch.zeros(1, 1, H, W))
x = torch.tensor(spec['input'], dtype=torch.float32).reshape(1, H, W, 3).permute(0, 3, 1, 2)
outs = {}
with torch.no_grad():
    load(torch.load(d + '/w.pth'))
    outs['pth'] = forward(x).permute(0, 2, 3, 1).reshape(-1).tolist()
    raw = open(d + '/w.safetensors', 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]; header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
    sd = {k: torch.frombuffer(bytearray(data[v['data_offsets'][0]:v['data_offsets'][1]]), dtype=torch.float32).reshape(v['shape'])
          for k, v in header.items() if k != '__metadata__'}
    load(sd)
    outs['safetensors'] = forward(x).permute(0, 2, 3, 1).reshape(-1).tolist()
json.dump(outs, open(d + '/out.json', 'w'))
`;

describe.skipIf(skip)('exportWeights -> PyTorch load_state_dict(strict=True) -> the same output', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('fcn8s at width 1/16: .pth and .safetensors, then the .pth imported back bit for bit', async () => {
    const base = getModelDefinition('fcn8s');
    const definition: ModelDefinition = { ...base, weightMaps: (config) => fcnWeightMaps('8s', config) };
    const config = definition.configSchema.parse({ numClasses: 3, width: 1 / 16, dropout: 0 });
    const model = definition.create(config, { rng: new Rng(4) });
    model.eval();
    // Seeded values everywhere (score layers start at zero, upsampling bilinear: too easy to pass).
    const rng = new Rng(9);
    const seeded: StateDict = {};
    for (const [name, t] of Object.entries(model.stateDict())) {
      const scale = name.endsWith('.bias')
        ? 0.1
        : Math.sqrt(2 / t.shape.slice(0, 3).reduce((a, b) => a * b, 1));
      seeded[name] = tf.tensor(
        Float32Array.from({ length: t.size }, () => rng.normal() * scale),
        t.shape,
      );
    }
    model.loadStateDict(seeded);
    tf.dispose(Object.values(seeded));
    const [height, width] = [29, 35];
    const input = Float32Array.from({ length: height * width * 3 }, (_, i) => ((i * 53) % 255) - 120);
    const x = tf.tensor4d(input, [1, height, width, 3]);
    const ours = model.forward(x);
    const expected = Array.from(await ours.data());
    tf.dispose([x, ours]);

    const pth = await exportWeights(model, definition, { to: 'pth' });
    const safetensors = await exportWeights(model, definition, { to: 'safetensors' });
    const shapes = Object.fromEntries(Object.entries(model.stateDict()).map(([n, t]) => [n, t.shape]));
    const run = runTorchScript(SCRIPT, {
      files: {
        'w.pth': pth,
        'w.safetensors': safetensors,
        'spec.json': JSON.stringify({ height, width, shapes, input: Array.from(input) }),
      },
      read: ['out.json'],
    });
    const outs = JSON.parse(new TextDecoder().decode(run.files['out.json'])) as Record<string, number[]>;
    const scale = Math.max(...expected.map(Math.abs));
    expect(scale).toBeGreaterThan(1);
    for (const format of ['pth', 'safetensors']) {
      const got = outs[format]!;
      expect(got.length).toBe(expected.length);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
      expect(worst / scale, format).toBeLessThan(1e-4);
    }

    const copy = definition.create(config, { rng: new Rng(5) });
    const before = tf.memory().numTensors;
    const report = await importWeights(copy, definition, { name: 'w.pth', data: pth });
    expect(report.map).toBe("semseg.js's own FCN names in PyTorch layouts");
    expect(tf.memory().numTensors).toBe(before);
    for (const [name, t] of Object.entries(model.stateDict())) {
      expect(await copy.stateDict()[name]!.data(), name).toEqual(await t.data());
    }
    model.dispose();
    copy.dispose();
  }, 120_000);

  it("adds the map's exportExtras (PyTorch's int64 num_batches_tracked) and skips what the map leaves out", async () => {
    const base = getModelDefinition('fcn32s');
    const model = base.create(base.configSchema.parse({ numClasses: 2, width: 1 / 32 }), { rng: new Rng(1) });
    const own = fcnPytorchMap();
    const map = {
      ...own,
      source: (p: string) => (p.startsWith('upscore') ? null : own.source(p)),
      exportExtras: () => [{ key: 'bn.num_batches_tracked', dtype: 'int64' as const, shape: [], value: 7 }],
    };
    const definition: ModelDefinition = { ...base, weightMaps: () => [map] };
    for (const to of ['pth', 'safetensors'] as const) {
      const file = await readWeights({
        name: `w.${to}`,
        data: await exportWeights(model, definition, { to }),
      });
      const extra = file.tensors.get('bn.num_batches_tracked')!;
      expect(extra.dtype).toBe('I64');
      expect(Array.from(extra.toFloat32())).toEqual([7]);
      expect(file.tensors.has('upscore.weight')).toBe(false);
      expect(file.tensors.get('backbone.conv1_1.weight')!.shape).toEqual([2, 3, 3, 3]);
    }
    model.dispose();
  });
});
