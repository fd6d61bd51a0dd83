// Caffe .caffemodel files written here by python3-protobuf from BVLC's caffe.proto (V2 `layer`
// and V1 `layers`, blob shapes and legacy num/channels/height/width, a DeepLab-fork field and
// layer type mixed in), for a small FCN; its forward pass in PyTorch with Caffe's semantics
// (conv1_1 pad 100, ceil pooling, the voc-fcn* crop offsets, BGR minus the mean) is the reference.
import { readFileSync } from 'node:fs';
import { type ModelDefinition, Rng, getModelDefinition } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import { fcnCaffeMap, fcnWeightMaps } from '../src/weight-maps.js';
import '@tensorflow/tfjs-backend-cpu';
import '../src/index.js';
import { importWeights, normalizedTensor, parameterShapes } from '@semseg/engine';
import { beforeAll, describe, expect, it } from 'vitest';

const CAFFE_PROTO = readFileSync(
  new URL('../../../weights/test/fixtures/caffe.proto', import.meta.url),
  'utf8',
);
const skip = torchSkipReason() !== null;

const SCRIPT = String.raw`
import sys, json, subprocess, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
subprocess.run(['protoc', '--python_out=' + d, 'caffe.proto'], cwd=d, check=True)
sys.path.insert(0, d)
import caffe_pb2
spec = json.load(open(d + '/spec.json'))
variant, shapes, H, W = spec['variant'], spec['shapes'], spec['height'], spec['width']
rng = np.random.default_rng(7)
deconvs = {'32s': ['upscore'], '16s': ['upscore2', 'upscore16'], '8s': ['upscore2', 'upscore_pool4', 'upscore8']}[variant]
blobs = {}   # layer -> [weight (Caffe layout), bias]
order = []
for name, shape in shapes.items():
    layer, kind = name.replace('backbone.', '').rsplit('.', 1)
    if layer not in blobs: blobs[layer] = [None, None]; order.append(layer)
    if kind == 'bias':
        blobs[layer][1] = rng.normal(0, 0.1, shape).astype(np.float32)
    elif layer in deconvs:   # ours [kh, kw, out, in] -> Caffe Deconvolution [in, out, kh, kw]
        kh, kw, o, i = shape
        blobs[layer][0] = rng.normal(0, 0.3, (i, o, kh, kw)).astype(np.float32)
    else:                    # ours HWIO -> Caffe OIHW
        kh, kw, i, o = shape
        blobs[layer][0] = rng.normal(0, np.sqrt(2.0 / (i * kh * kw)), (o, i, kh, kw)).astype(np.float32)

def blob(proto, arr, legacy):
    if legacy:
        s = [1] * (4 - arr.ndim) + list(arr.shape)
        proto.num, proto.channels, proto.height, proto.width = s
    else:
        proto.shape.dim.extend(arr.shape)
    proto.data.extend(arr.reshape(-1).tolist())

def v2():
    net = caffe_pb2.NetParameter(name='voc-fcn' + variant)
    net.layer.add(name='data', type='Input', top=['data'])
    for name in order:
        l = net.layer.add(name=name, type='Deconvolution' if name in deconvs else 'Convolution')
        for arr in blobs[name]:
            if arr is not None: blob(l.blobs.add(), arr, False)
        if name == 'fc6':
            # DeepLab's fork: ConvolutionParameter.hole (field 17) is unknown to BVLC's schema.
            l.convolution_param.MergeFromString(bytes([0x88, 0x01, 0x02]))
        net.layer.add(name='relu_' + name, type='ReLU')
    net.layer.add(name='interp', type='Interp')   # a DeepLab-fork layer with no blobs
    return net.SerializeToString()

def v1():
    net = caffe_pb2.NetParameter(name='voc-fcn' + variant)
    T = caffe_pb2.V1LayerParameter
    for name in order:
        l = net.layers.add(name=name, type=T.DECONVOLUTION if name in deconvs else T.CONVOLUTION)
        for arr in blobs[name]:
            if arr is not None: blob(l.blobs.add(), arr, True)
        net.layers.add(name='relu_' + name, type=T.RELU)
    return net.SerializeToString()

open(d + '/v2.caffemodel', 'wb').write(v2())
open(d + '/v1.caffemodel', 'wb').write(v1())

# The reference forward, as Caffe computes voc-fcn*: BGR minus the mean, conv1_1 pad 100,
# 2x2 max pooling with ceil, fc6 7x7 valid, the prototxts' crop offsets.
t = lambda a: torch.from_numpy(a).double()
image = np.array(spec['image'], dtype=np.float64).reshape(H, W, 3)
mean = np.array([104.00699, 116.66877, 122.67892])
x = torch.from_numpy((image[:, :, ::-1] - mean).transpose(2, 0, 1).copy())[None]
def conv(x, name, pad=0, relu=True):
    y = F.conv2d(x, t(blobs[name][0]), t(blobs[name][1]), padding=pad)
    return F.relu(y) if relu else y
def up(x, name, stride):
    return F.conv_transpose2d(x, t(blobs[name][0]), stride=stride)
def crop(x, off, like):
    return x[:, :, off:off + like.shape[2], off:off + like.shape[3]]
pools = []
blocks = [['conv1_1', 'conv1_2'], ['conv2_1', 'conv2_2'], ['conv3_1', 'conv3_2', 'conv3_3'],
          ['conv4_1', 'conv4_2', 'conv4_3'], ['conv5_1', 'conv5_2', 'conv5_3']]
for b, block in enumerate(blocks):
    for i, name in enumerate(block):
        x = conv(x, name, 100 if (b == 0 and i == 0) else 1)
    x = F.max_pool2d(x, 2, 2, ceil_mode=True)
    pools.append(x)
x = conv(conv(x, 'fc6'), 'fc7')
score = conv(x, 'score_fr', relu=False)
if variant == '32s':
    out = crop(up(score, 'upscore', 32), 19, image_t := torch.zeros(1, 1, H, W))
elif variant == '16s':
    u = up(score, 'upscore2', 2)
    fuse = u + crop(conv(pools[3], 'score_pool4', relu=False), 5, u)
    out = crop(up(fuse, 'upscore16', 16), 27, torch.zeros(1, 1, H, W))
else:
    u = up(score, 'upscore2', 2)
    fuse = u + crop(conv(pools[3], 'score_pool4', relu=False), 5, u)
    u = up(fuse, 'upscore_pool4', 2)
    fuse = u + crop(conv(pools[2], 'score_pool3', relu=False), 9, u)
    out = crop(up(fuse, 'upscore8', 8), 31, torch.zeros(1, 1, H, W))
json.dump(out[0].permute(1, 2, 0).reshape(-1).tolist(), open(d + '/out.json', 'w'))
`;

function withMaps(name: string, variant: '32s' | '16s' | '8s'): ModelDefinition {
  const definition = getModelDefinition(name);
  return { ...definition, weightMaps: (config) => fcnWeightMaps(variant, config) };
}

describe.skipIf(skip)('FCN from caffemodels (V1 and V2) equals Caffe semantics in PyTorch', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const variant of ['8s', '32s'] as const) {
    it(`fcn${variant}: V2 and V1 files import to the same network, whose forward matches`, async () => {
      const [height, width] = [37, 45];
      const config = { numClasses: 3, width: 1 / 16, dropout: 0 };
      const definition = withMaps(`fcn${variant}`, variant);
      const model = definition.create(definition.configSchema.parse(config), { rng: new Rng(1) });
      model.eval();
      const image = Array.from({ length: height * width * 3 }, (_, i) => (i * 37) % 256);
      const run = runTorchScript(SCRIPT, {
        files: {
          'caffe.proto': CAFFE_PROTO,
          'spec.json': JSON.stringify({ variant, shapes: parameterShapes(model), height, width, image }),
        },
        read: ['v2.caffemodel', 'v1.caffemodel', 'out.json'],
      });
      const expected = JSON.parse(new TextDecoder().decode(run.files['out.json'])) as number[];
      const before = tf.memory().numTensors;
      for (const version of ['v2', 'v1']) {
        const report = await importWeights(model, definition, {
          name: `${version}.caffemodel`,
          data: run.files[`${version}.caffemodel`]!,
        });
        expect(report.format).toBe('caffe');
        expect(report.missing).toEqual([]);
        expect(report.loaded.length).toBe(Object.keys(model.stateDict()).length);
        expect(report.normalization.channelOrder).toBe('bgr');
        const input = normalizedTensor({ width, height, data: Uint8Array.from(image) }, report.normalization);
        const logits = model.forward(input);
        const got = await logits.data();
        tf.dispose([input, logits]);
        expect(got.length).toBe(expected.length);
        const scale = Math.max(...expected.map(Math.abs));
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
        expect(scale).toBeGreaterThan(1);
        expect(worst / scale).toBeLessThan(1e-4);
      }
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }, 120_000);
  }

  it('a file of another architecture is one error naming the file and tensors, and leaves the model as it was', async () => {
    const definition = withMaps('fcn8s', '8s');
    const model = definition.create(definition.configSchema.parse({ numClasses: 3, width: 1 / 16 }), {
      rng: new Rng(2),
    });
    const run = runTorchScript(SCRIPT, {
      files: {
        'caffe.proto': CAFFE_PROTO,
        'spec.json': JSON.stringify({
          variant: '32s',
          shapes: parameterShapes(
            getModelDefinition('fcn32s').create({ numClasses: 3, width: 1 / 16 } as never, {
              rng: new Rng(3),
            }),
          ),
          height: 8,
          width: 8,
          image: new Array(8 * 8 * 3).fill(0),
        }),
      },
      read: ['v2.caffemodel'],
    });
    const snapshot = await model.stateDict()['score_fr.weight']!.data();
    const before = tf.memory().numTensors;
    const error = await importWeights(model, definition, {
      name: 'fcn32s.caffemodel',
      data: run.files['v2.caffemodel']!,
    }).then(
      () => new Error('imported'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/^fcn32s\.caffemodel: does not fit the voc-fcn8s Caffe model/);
    expect(error.message).toContain("upscore2.weight <- 'upscore2/0'");
    expect(error.message).toContain("unexpected 1: 'upscore/0'");
    expect(error.message).not.toContain('\n');
    expect(tf.memory().numTensors).toBe(before);
    expect(await model.stateDict()['score_fr.weight']!.data()).toEqual(snapshot);
    // A mis-shaped tensor (3 classes against 5) names both sides.
    const five = definition.create(definition.configSchema.parse({ numClasses: 5, width: 1 / 16 }), {
      rng: new Rng(2),
    });
    const mismatch = await importWeights(
      five,
      { ...definition, weightMaps: () => [fcnCaffeMap('32s')] },
      {
        name: 'fcn32s.caffemodel',
        data: run.files['v2.caffemodel']!,
      },
    ).then(
      () => new Error('imported'),
      (e: unknown) => e as Error,
    );
    expect(mismatch.message).toMatch(
      /score_fr\.weight \[1,1,256,5\] needs 'score_fr\/0' as \[5,256,1,1\], the file has \[3,256,1,1\]/,
    );
    model.dispose();
    five.dispose();
  }, 120_000);
});
