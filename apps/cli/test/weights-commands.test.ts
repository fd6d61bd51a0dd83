// `semseg import` and `semseg export` in process: a voc-fcn8s-layout caffemodel written by
// python3-protobuf from caffe.proto (5 classes, width 1/16) becomes a checkpoint whose classes
// come from the file; export writes a .pth that imports back to the same weights; wrong
// architecture and truncated files fail in one line and write nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, getModelDefinition, registerModel } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fcnWeightMaps } from '../../../packages/models/fcn/src/weight-maps.js';
import { main } from '../src/main.js';
import '../src/models.js';

const skip = torchSkipReason() !== null;
const CAFFE_PROTO = readFileSync(
  new URL('../../../packages/weights/test/fixtures/caffe.proto', import.meta.url),
  'utf8',
);

const WRITE = String.raw`
import sys, json, subprocess, numpy as np
d = sys.argv[1]
subprocess.run(['protoc', '--python_out=' + d, 'caffe.proto'], cwd=d, check=True)
sys.path.insert(0, d)
import caffe_pb2
shapes = json.load(open(d + '/shapes.json'))
rng = np.random.default_rng(3)
deconvs = {'upscore2', 'upscore_pool4', 'upscore8'}
net = caffe_pb2.NetParameter(name='voc-fcn8s')
layers = {}
for name, shape in shapes.items():
    layer, kind = name.replace('backbone.', '').rsplit('.', 1)
    if layer not in layers: layers[layer] = net.layer.add(name=layer, type='Deconvolution' if layer in deconvs else 'Convolution')
    if kind == 'bias': arr = rng.normal(0, 0.1, shape)
    elif layer in deconvs: kh, kw, o, i = shape; arr = rng.normal(0, 0.1, (i, o, kh, kw))
    else: kh, kw, i, o = shape; arr = rng.normal(0, 0.1, (o, i, kh, kw))
    b = layers[layer].blobs.add(); b.shape.dim.extend(arr.shape); b.data.extend(arr.astype(np.float32).reshape(-1).tolist())
open(d + '/fcn8s.caffemodel', 'wb').write(net.SerializeToString())
`;

async function run(...args: string[]) {
  let stderr = '';
  const code = await main(['node', 'semseg', ...args, '--backend', 'cpu'], {
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stderr };
}

describe.skipIf(skip)('semseg import / export', () => {
  let dir: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    // Until fcn's register.ts declares weightMaps, the test registers fcn8s with them (same maps).
    const fcn8s = getModelDefinition('fcn8s');
    if (!fcn8s.weightMaps) registerModel({ ...fcn8s, weightMaps: (config) => fcnWeightMaps('8s', config) });
    dir = mkdtempSync(join(tmpdir(), 'semseg-import-'));
    const model = getModelDefinition('fcn8s').create(
      getModelDefinition('fcn8s').configSchema.parse({ numClasses: 5, width: 1 / 16 }),
      { rng: new Rng(0) },
    );
    const shapes = Object.fromEntries(Object.entries(model.stateDict()).map(([n, t]) => [n, t.shape]));
    model.dispose();
    const { files } = runTorchScript(WRITE, {
      files: { 'caffe.proto': CAFFE_PROTO, 'shapes.json': JSON.stringify(shapes) },
      read: ['fcn8s.caffemodel'],
    });
    writeFileSync(join(dir, 'fcn8s.caffemodel'), files['fcn8s.caffemodel']!);
    writeFileSync(join(dir, 'width.json'), JSON.stringify({ width: 1 / 16 }));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a caffemodel with the class count from the file, exports .pth, and imports that back', async () => {
    const ckpt = join(dir, 'ckpt');
    const result = await run(
      'import',
      join(dir, 'fcn8s.caffemodel'),
      '--arch',
      'fcn8s',
      '--config',
      join(dir, 'width.json'),
      '--out',
      ckpt,
      '--classes',
      'bg,a,b,c,d',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const meta = JSON.parse(readFileSync(join(ckpt, 'model.json'), 'utf8'));
    expect(meta.classes).toEqual(['bg', 'a', 'b', 'c', 'd']);
    expect(meta.architecture.config.numClasses).toBe(5);
    expect(meta.normalization).toEqual({
      mean: [122.67892, 116.66877, 104.00699],
      std: [1, 1, 1],
      scale: 255,
      channelOrder: 'bgr',
    });

    const pth = join(dir, 'out', 'fcn8s.pth');
    expect((await run('export', ckpt, '--to', 'pth', '--out', pth)).code).toBe(0);
    const back = join(dir, 'back');
    const again = await run(
      'import',
      pth,
      '--arch',
      'fcn8s',
      '--config',
      join(dir, 'width.json'),
      '--out',
      back,
      '--normalization',
      'caffe-fcn',
    );
    expect(again.stderr).toBe('');
    // The same tensors, byte for byte, in the same manifest.
    expect(readFileSync(join(back, 'weights.bin')).equals(readFileSync(join(ckpt, 'weights.bin')))).toBe(
      true,
    );
  }, 120_000);

  it('a wrong architecture and a truncated file: one line naming the file, nothing written', async () => {
    const out = join(dir, 'never');
    const wrong = await run(
      'import',
      join(dir, 'fcn8s.caffemodel'),
      '--arch',
      'fcn32s',
      '--out',
      out,
      '--config',
      join(dir, 'width.json'),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^semseg: .*fcn8s\.caffemodel: (does not fit|architecture 'fcn32s' has no caffe name map)/,
    );
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    const bytes = readFileSync(join(dir, 'fcn8s.caffemodel'));
    writeFileSync(join(dir, 'cut.caffemodel'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const cut = await run(
      'import',
      join(dir, 'cut.caffemodel'),
      '--arch',
      'fcn8s',
      '--out',
      out,
      '--config',
      join(dir, 'width.json'),
    );
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/^semseg: .*cut\.caffemodel: truncated caffemodel: layer '?[a-z0-9_]+'?/);
    expect(cut.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
