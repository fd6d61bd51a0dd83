// `semseg export <checkpoint> --to onnx` in process: a SegNet-basic checkpoint (pooling switches,
// unpooling, batch norm; width 1/8, random calibrated weights) becomes an .onnx file that the ONNX
// checker accepts, that carries the checkpoint's classes and normalisation, and that onnxruntime
// runs to the tfjs path's probabilities; bad flags fail in one line and write nothing.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, type SegmentationModel, createModel } from '@semseg/core';
import { saveCheckpoint } from '@semseg/core/node';
import '@semseg/deconvnet';
import { readMetadataProps } from '@semseg/onnx';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkModels,
  maxAbsDiff,
  onnxCheckerSkipReason,
  runOnnx,
  softmaxLast,
} from '../../../packages/onnx/test/helpers.js';
import { calibrateBatchNorm, randomizeWeights } from '../../../packages/onnx/test/random-weights.js';
import { main } from '../src/main.js';

const skip = onnxCheckerSkipReason() !== null;
const [H, W] = [45, 39];
const CLASSES = ['background', 'a', 'b', 'c'];
const NORMALIZATION = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  scale: 255,
  channelOrder: 'rgb',
} as const;

async function run(...args: string[]) {
  let stderr = '';
  const code = await main(['node', 'semseg', ...args, '--backend', 'cpu'], {
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stderr };
}

describe.skipIf(skip)('semseg export --to onnx', () => {
  let dir: string;
  let ckpt: string;
  let x: tf.Tensor4D;
  let reference: Float32Array;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'semseg-export-onnx-'));
    ckpt = join(dir, 'ckpt');
    const model = createModel(
      'segnet',
      { variant: 'basic', width: 1 / 8, numClasses: CLASSES.length },
      { rng: new Rng(2) },
    ) as SegmentationModel;
    randomizeWeights(model, 3);
    x = tf.randomNormal([2, H, W, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    calibrateBatchNorm(model, x);
    reference = tf.tidy(() => model.forward(x)).dataSync() as Float32Array;
    await saveCheckpoint(ckpt, model.stateDict(), {
      architecture: { name: 'segnet', config: model.config ?? {} },
      classes: CLASSES,
      palette: [
        [0, 0, 0],
        [128, 0, 0],
        [0, 128, 0],
        [128, 128, 0],
      ],
      normalization: { ...NORMALIZATION, mean: [...NORMALIZATION.mean], std: [...NORMALIZATION.std] },
    });
    model.dispose();
  }, 120_000);

  afterAll(() => {
    x?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a checked graph with the checkpoint metadata that gives the tfjs probabilities', async () => {
    const out = join(dir, 'out', 'segnet.onnx');
    const result = await run('export', ckpt, '--to', 'onnx', '--out', out, '--input-size', `${H}x${W}`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Written under a temporary name and renamed: only the file is left.
    expect(readdirSync(join(dir, 'out'))).toEqual(['segnet.onnx']);
    const bytes = new Uint8Array(readFileSync(out));
    const { segnet } = await checkModels({ segnet: bytes });
    expect(segnet?.error).toBeUndefined();
    expect(segnet?.ok).toBe(true);
    expect(segnet?.opset).toBe(17);
    const meta = JSON.parse(segnet!.meta!.semseg!);
    expect(meta.classes).toEqual(CLASSES);
    expect(meta.normalization).toEqual(NORMALIZATION);
    expect(meta.architecture.name).toBe('segnet');
    expect(segnet!.meta!['semseg.input_size']).toBe(`${H}x${W}`);
    // SegNet-basic (four poolings with switches) takes every size congruent modulo 16.
    expect(segnet!.meta!['semseg.dynamic_size']).toBe(
      `height ≡ ${H % 16} (mod 16) from ${H % 16}, width ≡ ${W % 16} (mod 16) from ${W % 16} (traced at ${H}x${W})`,
    );
    const onnx = await runOnnx(bytes, x.dataSync() as Float32Array, [2, H, W, 3]);
    expect([...onnx.dims]).toEqual([2, H, W, CLASSES.length]);
    expect(
      maxAbsDiff(softmaxLast(onnx.data, CLASSES.length), softmaxLast(reference, CLASSES.length)),
    ).toBeLessThan(1e-4);
  }, 120_000);

  it('--keep-bn --batch 2 --opset 18 --fixed-size: a fixed-batch graph with the batch norms unfolded', async () => {
    const out = join(dir, 'kept.onnx');
    const result = await run(
      'export',
      ckpt,
      '--to',
      'onnx',
      '--out',
      out,
      '--input-size',
      `${H}x${W}`,
      '--keep-bn',
      '--batch',
      '2',
      '--opset',
      '18',
      '--fixed-size',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const props = readMetadataProps(new Uint8Array(readFileSync(out)), out);
    expect(props['semseg.dynamic_size']).toMatch(/^false: not asked for/);
    const onnx = await runOnnx(new Uint8Array(readFileSync(out)), x.dataSync() as Float32Array, [2, H, W, 3]);
    expect(
      maxAbsDiff(softmaxLast(onnx.data, CLASSES.length), softmaxLast(reference, CLASSES.length)),
    ).toBeLessThan(1e-4);
  }, 120_000);

  it('bad flags fail in one line and write nothing', async () => {
    const out = join(dir, 'bad', 'never.onnx');
    for (const flags of [
      ['--input-size', '0x5'],
      ['--opset', '16'],
      ['--batch', 'many'],
    ]) {
      const result = await run('export', ckpt, '--to', 'onnx', '--out', out, ...flags);
      expect(result.code, flags.join(' ')).not.toBe(0);
      expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    }
    const pth = await run('export', ckpt, '--to', 'pth', '--out', out, '--keep-bn');
    expect(pth.code).not.toBe(0);
    expect(pth.stderr).toContain('--to onnx only');
    expect(() => readdirSync(join(dir, 'bad'))).toThrow();
  }, 120_000);
});
