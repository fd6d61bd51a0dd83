import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackendError,
  type CheckpointMeta,
  InputError,
  Module,
  Rng,
  type SegmentationModel,
} from '@semseg/core';
import { type InferenceOptions, predictImage, predictImageAsync } from '@semseg/engine';
import { runTorchScriptAsync, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointMetadata, readCheckpointMetadata, readMetadataProps } from '../src/index.js';
import { loadOnnxRuntimeNode, onnxModelFromFile, onnxModelFromModel } from '../src/node/index.js';

const CLASSES = 4;
const HIDDEN = 6;

/** conv 3x3 (same) -> ReLU -> conv 1x1: a small FCN-like net, NHWC, weights HWIO. */
class SmallNet extends Module implements SegmentationModel {
  readonly numClasses = CLASSES;
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  constructor(rng: Rng) {
    super();
    this.w1 = this.registerParameter(
      'w1',
      tf.tensor4d(rng.fillNormal(new Float32Array(27 * HIDDEN), 0, 0.5), [3, 3, 3, HIDDEN]),
    );
    this.b1 = this.registerParameter('b1', tf.tensor1d(rng.fillNormal(new Float32Array(HIDDEN), 0, 0.1)));
    this.w2 = this.registerParameter(
      'w2',
      tf.tensor4d(rng.fillNormal(new Float32Array(HIDDEN * CLASSES), 0, 0.5), [1, 1, HIDDEN, CLASSES]),
    );
    this.b2 = this.registerParameter('b2', tf.tensor1d(rng.fillNormal(new Float32Array(CLASSES), 0, 0.1)));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const h = tf.relu(tf.add(tf.conv2d(x, this.w1 as tf.Tensor4D, 1, 'same'), this.b1)) as tf.Tensor4D;
      return tf.add(tf.conv2d(h, this.w2 as tf.Tensor4D, 1, 'same'), this.b2) as tf.Tensor4D;
    });
  }
}

/** PyTorch builds the same net on NCHW, wrapped to take and give NHWC, and exports it. */
const EXPORT_SCRIPT = `
import sys, os, json, numpy as np, torch, onnx
d = sys.argv[1]
def load(name, shape): return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=np.float32).reshape(shape))
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, ${HIDDEN}, 3, padding=1)
        self.c2 = torch.nn.Conv2d(${HIDDEN}, ${CLASSES}, 1)
    def forward(self, x):
        y = self.c2(torch.relu(self.c1(x.permute(0, 3, 1, 2))))
        return y.permute(0, 2, 3, 1)
net = Net().eval()
with torch.no_grad():
    # HWIO -> OIHW
    net.c1.weight.copy_(load('w1.bin', (3, 3, 3, ${HIDDEN})).permute(3, 2, 0, 1))
    net.c1.bias.copy_(load('b1.bin', (${HIDDEN},)))
    net.c2.weight.copy_(load('w2.bin', (1, 1, ${HIDDEN}, ${CLASSES})).permute(3, 2, 0, 1))
    net.c2.bias.copy_(load('b2.bin', (${CLASSES},)))
meta = open(os.path.join(d, 'meta.json')).read()
def export(name, shape, dynamic):
    path = os.path.join(d, name)
    axes = {'images': {0: 'n', 1: 'h', 2: 'w'}, 'logits': {0: 'n', 1: 'h', 2: 'w'}} if dynamic else None
    torch.onnx.export(net, torch.zeros(shape), path, input_names=['images'], output_names=['logits'],
                      dynamic_axes=axes, opset_version=17)
    m = onnx.load(path)
    if name != 'bare.onnx':
        m.metadata_props.add(key='semseg', value=meta)
    m.metadata_props.add(key='producer_note', value='torch ' + torch.__version__)
    onnx.checker.check_model(m)
    onnx.save(m, path)
export('dynamic.onnx', (1, 24, 28, 3), True)
export('fixed.onnx', (1, 20, 24, 3), False)
export('bare.onnx', (1, 20, 24, 3), True)
`;

const META: CheckpointMeta = {
  architecture: { name: 'small-net', config: { hidden: HIDDEN } },
  classes: ['background', 'a', 'b', 'c'],
  palette: [
    [0, 0, 0],
    [128, 0, 0],
    [0, 128, 0],
    [128, 128, 0],
  ],
  normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 1, channelOrder: 'rgb' },
};

function image(width: number, height: number, rng: Rng) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width, height, data };
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('loading onnxruntime-node', () => {
  it('says in one line how to install it when it is missing', async () => {
    const error = await loadOnnxRuntimeNode('onnxruntime-node-not-installed').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/not installed: npm install onnxruntime-node@1\.30\.0$/);
    expect((error as Error).message).not.toContain('\n');
  });

  it('loads the installed CPU build', async () => {
    const ort = await loadOnnxRuntimeNode();
    expect(typeof ort.InferenceSession.create).toBe('function');
  });
});

describe('checkpoint metadata in metadata_props', () => {
  it('round-trips and rejects what is not ours with a clear error', () => {
    expect(readCheckpointMetadata(checkpointMetadata(META), 'x.onnx')).toEqual(META);
    expect(() => readCheckpointMetadata({}, 'x.onnx')).toThrow(/x\.onnx: no 'semseg' metadata/);
    expect(() => readCheckpointMetadata({ semseg: '{' }, 'x.onnx')).toThrow(/not JSON/);
    const bad = JSON.parse(checkpointMetadata(META).semseg!);
    bad.normalization.scale = 2;
    expect(() => readCheckpointMetadata({ semseg: JSON.stringify(bad) }, 'x.onnx')).toThrow(
      /x\.onnx: 'semseg' metadata: normalization\.scale/,
    );
  });

  it('reads a file that is not ONNX as an input error', () => {
    expect(() => readMetadataProps(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), 'x.onnx')).toThrow(
      InputError,
    );
  });
});

describe('the onnxruntime path on graphs our exporter writes per input size', () => {
  it("gives the tfjs model's probabilities at every size it meets, sessions cached", async () => {
    await tf.setBackend('cpu');
    const rng = new Rng(12);
    const net = new SmallNet(rng);
    const before = tf.memory().numTensors;
    const onnx = await onnxModelFromModel(net, { threads: 1, cacheSize: 2 });
    try {
      const normalization = META.normalization;
      for (const [w, h] of [
        [30, 22],
        [17, 25],
        [30, 22],
        [41, 19],
      ] as const) {
        const picture = image(w, h, rng);
        const reference = predictImage(net, picture, { normalization });
        const outside = await predictImageAsync(onnx, picture, { normalization });
        expect(maxDiff(outside.probabilities, reference.probabilities)).toBeLessThan(1e-5);
      }
    } finally {
      await onnx.release();
    }
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});

describe.skipIf(torchSkipReason() !== null)('the onnxruntime path on graphs exported by PyTorch', () => {
  const rng = new Rng(11);
  let net: SmallNet;
  let dir: string;
  let baseline: number;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    baseline = tf.memory().numTensors;
    net = new SmallNet(rng);
    const files: Record<string, Uint8Array | string> = { 'meta.json': checkpointMetadata(META).semseg! };
    for (const name of ['w1', 'b1', 'w2', 'b2'] as const)
      files[`${name}.bin`] = new Uint8Array((net[name].dataSync() as Float32Array).slice().buffer);
    const out = await runTorchScriptAsync(EXPORT_SCRIPT, {
      files,
      read: ['dynamic.onnx', 'fixed.onnx', 'bare.onnx'],
    });
    dir = await mkdtemp(join(tmpdir(), 'semseg-onnx-runtime-'));
    for (const [name, bytes] of Object.entries(out.files)) writeFileSync(join(dir, name), bytes);
  }, 120_000);

  afterAll(async () => {
    net?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads metadata_props without decoding the graph', async () => {
    const { readFile } = await import('node:fs/promises');
    const props = readMetadataProps(await readFile(join(dir, 'dynamic.onnx')), 'dynamic.onnx');
    expect(props.producer_note).toMatch(/^torch 1\./);
    expect(readCheckpointMetadata(props, 'dynamic.onnx')).toEqual(META);
  });

  const cases: Array<{ name: string; options: Omit<InferenceOptions, 'normalization'> }> = [
    { name: 'whole image', options: {} },
    { name: 'whole, three scales and flip', options: { scales: [0.75, 1, 1.25], flip: true } },
    {
      name: 'sliding windows of a batch of 3, flip',
      options: { mode: 'slide', crop: [20, 24], stride: [12, 16], batchSize: 3, flip: true },
    },
  ];
  for (const { name, options } of cases) {
    it(`gives the tfjs path's probabilities (${name})`, async () => {
      const { model, meta } = await onnxModelFromFile(join(dir, 'dynamic.onnx'), { threads: 1 });
      try {
        expect(meta).toEqual(META);
        expect(model.numClasses).toBe(CLASSES);
        const picture = image(45, 37, rng);
        const inference = { ...options, normalization: meta.normalization };
        const reference = predictImage(net, picture, inference);
        const onnx = await predictImageAsync(model, picture, inference);
        expect(maxDiff(onnx.probabilities, reference.probabilities)).toBeLessThan(1e-5);
        expect(agreement(onnx.labels, reference.labels)).toBeGreaterThanOrEqual(0.999);
        expect(new Set(reference.labels).size).toBeGreaterThan(1);
      } finally {
        await model.release();
      }
      expect(tf.memory().numTensors).toBe(baseline + 4);
    });
  }

  it('runs a fixed-size graph on windows of its size and names the flag when the size differs', async () => {
    const { model, meta } = await onnxModelFromFile(join(dir, 'fixed.onnx'), { threads: 2 });
    try {
      const picture = image(50, 31, rng);
      const inference = {
        mode: 'slide' as const,
        crop: [20, 24] as const,
        normalization: meta.normalization,
      };
      const reference = predictImage(net, picture, inference);
      const onnx = await predictImageAsync(model, picture, inference);
      expect(maxDiff(onnx.probabilities, reference.probabilities)).toBeLessThan(1e-5);
      const whole = predictImageAsync(model, picture, { normalization: meta.normalization });
      await expect(whole).rejects.toThrow(InputError);
      await expect(predictImageAsync(model, picture, { normalization: meta.normalization })).rejects.toThrow(
        /fixed\.onnx takes 20x24 inputs .*this input is 31x50: use --mode slide --crop 20x24/,
      );
    } finally {
      await model.release();
    }
    expect(tf.memory().numTensors).toBe(baseline + 4);
  });

  it('refuses a graph without our metadata, and a file that is not there', async () => {
    await expect(onnxModelFromFile(join(dir, 'bare.onnx'))).rejects.toThrow(
      /bare\.onnx: no 'semseg' metadata/,
    );
    await expect(onnxModelFromFile(join(dir, 'absent.onnx'))).rejects.toThrow(/absent\.onnx: file not found/);
  });
});
