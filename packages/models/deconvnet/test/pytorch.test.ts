import { readFileSync } from 'node:fs';
import { Rng, type StateDict, type WeightNameMap } from '@semseg/core';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeconvNet, seedDeconvNetMap } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** safetensors: 8 bytes of header length, a JSON header, raw little-endian data. */
function readSafetensors(bytes: Uint8Array): Map<string, RawTensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const out = new Map<string, RawTensor>();
  for (const [key, entry] of Object.entries(header)) {
    const [start, end] = entry.data_offsets;
    out.set(key, { dtype: entry.dtype, shape: entry.shape, data: bytes.slice(base + start, base + end) });
  }
  return out;
}

function float32(raw: RawTensor): tf.Tensor {
  expect(raw.dtype).toBe('F32');
  return tf.tensor(
    new Float32Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength / 4),
    raw.shape,
  );
}

/** The test's own minimal importer: every parameter through the package's name map and layout. */
function applyMap(model: DeconvNet, map: WeightNameMap, file: Map<string, RawTensor>): void {
  const dict: StateDict = {};
  const used = new Set<string>();
  for (const { name } of model.namedEntries()) {
    const source = map.source(name)!;
    const raw = file.get(source.key);
    if (!raw) throw new Error(`${source.key} (for ${name}) is not in the file`);
    used.add(source.key);
    const t = float32(raw);
    // conv: OIHW -> HWIO; conv-transpose: [in, out, kh, kw] -> [kh, kw, out, in]: both axes 2, 3, 1, 0.
    dict[name] = source.layout === 'same' ? t : tf.transpose(t, [2, 3, 1, 0]);
    if (dict[name] !== t) t.dispose();
  }
  const left = [...file.keys()].filter((k) => !used.has(k) && !map.ignore?.(k));
  expect(left).toEqual([]);
  model.loadStateDict(dict);
  tf.dispose(Object.values(dict));
}

const WIDTH = 1 / 16;
const SIZE = 224;
const CLASSES = 5;
/** Pre-pool sizes 251 x 229, 126 x 115, 63 x 58, 32 x 29, 16 x 15: an odd side at every level. */
const ODD: [number, number] = [251, 229];

describe.skipIf(torchSkipReason() !== null)("the seed's PyTorch DeconvNet", () => {
  it('gives the same logits as ours after import (width 1/16, 224x224 as written, 251x229 with the unpooling sizes given)', () => {
    const script = readFileSync(new URL('./seed_deconvnet.py', import.meta.url), 'utf8');
    const result = runTorchScript(script, {
      files: { 'cfg.json': JSON.stringify({ width: WIDTH, size: SIZE, numClasses: CLASSES, odd: ODD }) },
      read: ['deconvnet.safetensors', 'io.safetensors'],
    });
    const spread = JSON.parse(result.stdout) as { pixelStd: number };
    // The reference's output varies from pixel to pixel: a wrong map could not pass by luck.
    expect(spread.pixelStd).toBeGreaterThan(0.05);
    const weights = readSafetensors(result.files['deconvnet.safetensors']!);
    const io = readSafetensors(result.files['io.safetensors']!);
    const model = new DeconvNet({ width: WIDTH, numClasses: CLASSES }, new Rng(0));
    applyMap(model, seedDeconvNetMap(), weights);
    model.eval();
    const baseline = tf.memory().numTensors;
    for (const [input, output, shape] of [
      ['x', 'y', [2, SIZE, SIZE, CLASSES]],
      ['oddX', 'oddY', [1, ...ODD, CLASSES]],
    ] as const) {
      const x = float32(io.get(input)!) as tf.Tensor4D;
      const expected = float32(io.get(output)!);
      const y = model.forward(x);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]!);
      const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]!);
      expect(y.shape).toEqual(shape);
      expect(diff, `${input}: max |d| ${diff} (max |y| ${scale})`).toBeLessThan(1e-4 * Math.max(1, scale));
      tf.dispose([x, expected, y]);
    }
    expect(tf.memory().numTensors).toBe(baseline);
    model.dispose();
  }, 120_000);
});
