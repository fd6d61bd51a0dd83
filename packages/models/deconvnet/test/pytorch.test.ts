import { readFileSync } from 'node:fs';
import { Rng, getModelDefinition } from '@semseg/core';
import { exportWeights, importWeights } from '@semseg/engine';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeconvNet } from '../src/index.js';

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

const WIDTH = 1 / 16;
const SIZE = 224;
const CLASSES = 5;
/** Pre-pool sizes 251 x 229, 126 x 115, 63 x 58, 32 x 29, 16 x 15: an odd side at every level. */
const ODD: [number, number] = [251, 229];

describe.skipIf(torchSkipReason() !== null)("the seed's PyTorch DeconvNet", () => {
  it('gives the same logits as ours after importing its torch.save file, and loads our export back (width 1/16, 224x224 as written, 251x229 with the unpooling sizes given)', async () => {
    const script = readFileSync(new URL('./seed_deconvnet.py', import.meta.url), 'utf8');
    const result = runTorchScript(script, {
      files: { 'cfg.json': JSON.stringify({ width: WIDTH, size: SIZE, numClasses: CLASSES, odd: ODD }) },
      read: ['deconvnet.pth', 'io.safetensors'],
    });
    const spread = JSON.parse(result.stdout) as { pixelStd: number };
    // The reference's output varies from pixel to pixel: a wrong map could not pass by luck.
    expect(spread.pixelStd).toBeGreaterThan(0.05);
    const io = readSafetensors(result.files['io.safetensors']!);
    const model = new DeconvNet({ width: WIDTH, numClasses: CLASSES }, new Rng(0));
    const definition = getModelDefinition('deconvnet');
    // torch.save's file, through the importer and the package's name map.
    const report = await importWeights(model, definition, {
      name: 'deconvnet.pth',
      data: result.files['deconvnet.pth']!,
    });
    expect(report.missing).toEqual([]);
    expect(report.loaded.length).toBe(model.namedEntries().length);
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
      console.log(`${input}: max |d| ${diff.toExponential(2)} against max |y| ${scale.toFixed(3)}`);
      expect(y.shape).toEqual(shape);
      expect(diff, `${input}: max |d| ${diff} (max |y| ${scale})`).toBeLessThan(1e-4 * Math.max(1, scale));
      tf.dispose([x, expected, y]);
    }
    expect(tf.memory().numTensors).toBe(baseline);
    // And back: our export (.pth with num_batches_tracked added) loads strictly into the seed's module.
    const exported = await exportWeights(model, definition, { to: 'pth' });
    const check = runTorchScript(script, {
      files: {
        'cfg.json': JSON.stringify({ width: WIDTH, size: SIZE, numClasses: CLASSES, odd: ODD, check: true }),
        'exported.pth': exported,
        'io.safetensors': result.files['io.safetensors']!,
      },
    });
    const back = JSON.parse(check.stdout) as { maxDiff: number; tracked: number };
    expect(back.tracked).toBe(29);
    expect(back.maxDiff).toBeLessThan(1e-6);
    model.dispose();
  }, 120_000);
});
