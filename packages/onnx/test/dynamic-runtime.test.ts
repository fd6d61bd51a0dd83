// The onnxruntime path with graphs of dynamic size: one session serves every size of its residue
// class (U-Net, same padding, depth 2: sizes modulo 4), a size outside it gets its own export, and
// an .onnx file refuses the sizes it does not serve in one line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import '@semseg/unet';
import { type CheckpointMeta, InputError, Rng, type SegmentationModel, createModel } from '@semseg/core';
import { predictImage, predictImageAsync } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OrtRuntime,
  checkpointMetadata,
  exportOnnx,
  onnxModelOn,
  readMetadataProps,
  servedSizesOf,
} from '../src/index.js';
import { nodeRuntime, onnxModelFromFile } from '../src/node/index.js';
import { randomizeWeights } from './random-weights.js';

const META: CheckpointMeta = {
  architecture: { name: 'unet', config: {} },
  classes: ['a', 'b', 'c'],
  palette: [
    [0, 0, 0],
    [128, 0, 0],
    [0, 128, 0],
  ],
  normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], scale: 1, channelOrder: 'rgb' },
};

function image(width: number, height: number, rng: Rng) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width, height, data };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('graphs of dynamic size on the onnxruntime path', () => {
  const rng = new Rng(21);
  let model: SegmentationModel;
  let dir: string;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = createModel(
      'unet',
      { padding: 'same', width: 1 / 16, depth: 2, numClasses: 3 },
      { rng: new Rng(3) },
    ) as SegmentationModel;
    randomizeWeights(model, 4);
    model.eval();
    dir = await mkdtemp(join(tmpdir(), 'semseg-onnx-dynamic-'));
  });

  afterAll(async () => {
    for (const e of model.namedEntries()) e.variable.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exports the first size fixed, then reuses one dynamic session per size class', async () => {
    const base = await nodeRuntime({ threads: 1 });
    const sessions: string[] = [];
    const dynamic: boolean[] = [];
    const counting: OrtRuntime = {
      createSession: (bytes) => {
        const props = readMetadataProps(bytes, 'graph');
        sessions.push(props['semseg.input_size']!);
        dynamic.push(!props['semseg.dynamic_size']!.startsWith('false'));
        return base.createSession(bytes);
      },
      tensor: base.tensor,
    };
    const before = tf.memory().numTensors;
    const onnx = onnxModelOn(counting, model, { cacheSize: 2 });
    try {
      // 22x30, 26x34 and 18x42 are one class modulo 4; 23x30 is another.
      for (const [w, h] of [
        [30, 22],
        [34, 26],
        [42, 18],
        [30, 23],
        [38, 30],
      ] as const) {
        const picture = image(w, h, rng);
        const reference = predictImage(model, picture, { normalization: META.normalization });
        const outside = await predictImageAsync(onnx, picture, { normalization: META.normalization });
        expect(maxDiff(outside.probabilities, reference.probabilities)).toBeLessThan(1e-4);
      }
      // The first size gets a fixed graph (the fast export: a folder of one size needs no more);
      // the second a dynamic one, which also serves 18x42 and 38x30; 23x30 starts another class.
      expect(sessions).toEqual(['22x30', '26x34', '23x30']);
      expect(dynamic).toEqual([false, true, true]);
    } finally {
      await onnx.release();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an .onnx file of dynamic size runs the sizes it serves and names them for another', async () => {
    const bytes = exportOnnx(model, { height: 21, width: 27, metadata: checkpointMetadata(META) });
    const props = readMetadataProps(bytes, 'unet.onnx');
    expect(servedSizesOf(props)).toEqual({ height: { modulus: 4, min: 5 }, width: { modulus: 4, min: 3 } });
    expect(props['semseg.dynamic_size']).toBe(
      'height ≡ 1 (mod 4) from 5, width ≡ 3 (mod 4) from 3 (traced at 21x27)',
    );
    const path = join(dir, 'unet.onnx');
    await writeFile(path, bytes);
    const { model: file } = await onnxModelFromFile(path, { threads: 1 });
    try {
      for (const [w, h] of [
        [27, 21],
        [11, 9],
        [43, 33],
      ] as const) {
        const picture = image(w, h, rng);
        const reference = predictImage(model, picture, { normalization: META.normalization });
        const outside = await predictImageAsync(file, picture, { normalization: META.normalization });
        expect(maxDiff(outside.probabilities, reference.probabilities)).toBeLessThan(1e-4);
      }
      const odd = predictImageAsync(file, image(28, 21, rng), { normalization: META.normalization });
      await expect(odd).rejects.toThrow(InputError);
      await expect(
        predictImageAsync(file, image(28, 21, rng), { normalization: META.normalization }),
      ).rejects.toThrow(
        /unet\.onnx takes height ≡ 1 \(mod 4\) from 5, width ≡ 3 \(mod 4\) from 3; this input is 21x28: use --mode slide --crop 21x27/,
      );
    } finally {
      await file.release();
    }
  });
});
