import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@semseg/engine/node';
import '@semseg/fcn';
import { checkpointMetadata, exportOnnx } from '@semseg/onnx';
import { decodeLabelPng } from '@semseg/voc-data';
import { decodeNpy } from '@semseg/weights';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, expectOneLineFailure, requireBuild, semseg } from './helpers/cli.js';

// The built CLI on a tiny FCN-8s (width 1/32, compact alignment) trained here for two steps on
// synthetic 32x32 images: --runtime onnx (onnxruntime-node) against --runtime tfjs, from the
// checkpoint (exported on the fly) and from an .onnx file with the checkpoint's metadata.
const work = mkdtempSync(join(tmpdir(), 'semseg-runtime-onnx-'));
const data = join(work, 'data');
const images = join(data, 'JPEGImages');
const checkpoint = join(work, 'run', 'final');
const graph = join(work, 'model.onnx');
const SIZE = 32;
/** Sliding windows: the synthetic images' sizes vary a little around SIZE. */
const WINDOW = 24;
const WASM = ['--backend', 'wasm'];

afterAll(() => rmSync(work, { recursive: true, force: true }));

function ok(result: CliResult): CliResult {
  expect(result.code, result.stderr).toBe(0);
  return result;
}

beforeAll(async () => {
  requireBuild();
  ok(
    await semseg([
      'data',
      'synth',
      data,
      '--count',
      '4',
      '--min-size',
      String(SIZE),
      '--max-size',
      String(SIZE),
      '--classes',
      '3',
      '--seed',
      '5',
    ]),
  );
  ok(
    await semseg([
      'train',
      '--model',
      'fcn8s',
      '--model-config',
      '{"alignment":"compact"}',
      '--width',
      '1/32',
      '--data',
      data,
      '--out',
      join(work, 'run'),
      '--steps',
      '2',
      '--batch-size',
      '2',
      '--crop',
      String(SIZE),
      '--optimizer',
      'adam',
      '--lr',
      '1e-2',
      '--seed',
      '3',
      '--eval-every',
      '100',
      ...WASM,
    ]),
  );
  // What `semseg export --to onnx` writes: a graph of the window size, with the checkpoint's metadata.
  await tf.setBackend('cpu');
  const { model, meta } = await loadModel(checkpoint);
  try {
    writeFileSync(
      graph,
      exportOnnx(model, { height: WINDOW, width: WINDOW, batch: 1, metadata: checkpointMetadata(meta) }),
    );
  } finally {
    model.dispose();
  }
}, 120_000);

async function predict(name: string, args: string[]): Promise<string> {
  const out = join(work, `pred-${name}`);
  const result = ok(await semseg(['predict', images, '--out', out, '--probs', ...WASM, ...args]));
  if (args.includes('onnx')) expect(result.stdout).toMatch(/runtime: onnxruntime-node \(cpu, \d+ threads\)/);
  return out;
}

function compare(a: string, b: string): { agreement: number; maxDiff: number } {
  let same = 0;
  let pixels = 0;
  let maxDiff = 0;
  for (const file of readdirSync(a).filter((f) => f.endsWith('.png'))) {
    const la = decodeLabelPng(new Uint8Array(readFileSync(join(a, file))), file).indices;
    const lb = decodeLabelPng(new Uint8Array(readFileSync(join(b, file))), file).indices;
    for (let i = 0; i < la.length; i++) {
      if (la[i] === lb[i]) same++;
    }
    pixels += la.length;
    const npy = file.replace(/\.png$/, '.npy');
    const pa = decodeNpy(new Uint8Array(readFileSync(join(a, npy)))).data as Float32Array;
    const pb = decodeNpy(new Uint8Array(readFileSync(join(b, npy)))).data as Float32Array;
    for (let i = 0; i < pa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pa[i]! - pb[i]!));
  }
  return { agreement: same / pixels, maxDiff };
}

describe('semseg predict and eval --runtime onnx', () => {
  it('gives the labels and probabilities of --runtime tfjs on whole images (a graph per image size)', async () => {
    const tfjs = await predict('tfjs', ['--checkpoint', checkpoint]);
    const onnx = await predict('onnx-checkpoint', ['--checkpoint', checkpoint, '--runtime', 'onnx']);
    const { agreement, maxDiff } = compare(tfjs, onnx);
    expect(agreement).toBeGreaterThanOrEqual(0.999);
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('runs sliding windows with flip the same way, from the checkpoint and from an .onnx file', async () => {
    const settings = ['--mode', 'slide', '--crop', String(WINDOW), '--stride', '8', '--flip'];
    const tfjs = await predict('slide-tfjs', ['--checkpoint', checkpoint, ...settings]);
    const fromCheckpoint = await predict('slide-onnx', [
      '--checkpoint',
      checkpoint,
      '--runtime',
      'onnx',
      ...settings,
    ]);
    const fromFile = await predict('slide-file', ['--checkpoint', graph, '--runtime', 'onnx', ...settings]);
    for (const onnx of [fromCheckpoint, fromFile]) {
      const { agreement, maxDiff } = compare(tfjs, onnx);
      expect(agreement).toBeGreaterThanOrEqual(0.999);
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  it('evaluates to the same scores', async () => {
    const scores = async (args: string[]) => {
      const json = join(work, `eval-${args.length}.json`);
      ok(
        await semseg([
          'eval',
          '--checkpoint',
          checkpoint,
          '--data',
          data,
          '--split',
          'val',
          '--json',
          json,
          ...WASM,
          ...args,
        ]),
      );
      return JSON.parse(readFileSync(json, 'utf8')) as {
        metrics: unknown;
        matrix: unknown;
        inference: { runtime: string };
      };
    };
    const tfjs = await scores([]);
    const onnx = await scores(['--runtime', 'onnx']);
    expect(onnx.matrix).toEqual(tfjs.matrix);
    // The records say what ran the network, so shards of the two runtimes do not merge.
    expect(tfjs.inference.runtime).toBe('tfjs');
    expect(onnx.inference.runtime).toBe('onnx');
  });

  it('says in one line what it cannot do', async () => {
    expectOneLineFailure(
      await semseg(['predict', images, '--out', join(work, 'x'), '--checkpoint', graph]),
      /model\.onnx: an \.onnx graph runs with --runtime onnx/,
    );
    expectOneLineFailure(
      await semseg([
        'predict',
        images,
        '--out',
        join(work, 'y'),
        '--runtime',
        'onnx',
        '--checkpoint',
        checkpoint,
        '--checkpoint',
        checkpoint,
      ]),
      /--runtime onnx runs one --checkpoint/,
    );
    expectOneLineFailure(
      await semseg([
        'predict',
        images,
        '--out',
        join(work, 'z'),
        '--runtime',
        'onnx',
        '--checkpoint',
        graph,
        '--mode',
        'slide',
        '--crop',
        '16',
      ]),
      /model\.onnx takes height ≡ 24 \(mod 32\) from 24, width ≡ 24 \(mod 32\) from 24; this input is 16x16: use --mode slide --crop 24x24/,
    );
  });
});
