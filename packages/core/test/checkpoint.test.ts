import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CAFFE_VGG_NORMALIZATION,
  CheckpointError,
  type CheckpointMeta,
  Module,
  Rng,
  StateDictError,
  applyCheckpoint,
  decodeCheckpoint,
} from '../src/index.js';
import { loadCheckpoint, readCheckpointMeta, saveCheckpoint } from '../src/node/index.js';

class Tiny extends Module {
  constructor(rng: Rng, channels = 3) {
    super();
    this.registerParameter(
      'weight',
      tf.tensor(rng.fillNormal(new Float32Array(2 * 2 * channels * 4)), [2, 2, channels, 4]),
    );
    this.registerParameter('bias', tf.zeros([4]));
    this.registerBuffer('runningMean', tf.tensor1d([0.5, -1, 2, 3]));
  }
}

const meta: CheckpointMeta = {
  architecture: { name: 'tiny', config: { channels: 3 } },
  classes: ['background', 'thing'],
  palette: [
    [0, 0, 0],
    [128, 0, 0],
  ],
  normalization: CAFFE_VGG_NORMALIZATION,
  training: { step: 10, epoch: 1, rng: new Rng(1).getState() },
};

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'semseg-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function saveTiny(path: string, seed = 1): Promise<Tiny> {
  const model = new Tiny(new Rng(seed));
  const momentum = { 'weight.momentum': tf.ones([2, 2, 3, 4]) };
  await saveCheckpoint(path, model.stateDict(), meta, momentum);
  tf.dispose(Object.values(momentum));
  return model;
}

describe('checkpoints', () => {
  it('round-trips tensors bit-exactly with metadata and optimiser state, leaking nothing', async () => {
    const path = join(dir, 'run', 'ckpt');
    const baseline = tf.memory().numTensors;
    const model = await saveTiny(path);
    const files = (await readdir(path)).sort();
    expect(files).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
    expect(json.format).toBe('semseg-checkpoint');
    expect(json.version).toBe(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual([
      'weight',
      'bias',
      'runningMean',
      'optimizer/weight.momentum',
    ]);

    const loaded = await loadCheckpoint(path);
    expect(loaded.meta).toEqual(meta);
    expect(Object.keys(loaded.optimizerTensors)).toEqual(['weight.momentum']);
    const other = new Tiny(new Rng(99));
    applyCheckpoint(other, loaded, { source: loaded.files.modelJson });
    for (const [name, t] of Object.entries(model.stateDict())) {
      expect(Array.from(other.stateDict()[name]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    model.dispose();
    other.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('replaces an existing checkpoint atomically and leaves no temporary folders', async () => {
    const path = join(dir, 'ckpt');
    (await saveTiny(path, 1)).dispose();
    const second = await saveTiny(path, 2);
    expect((await readdir(dir)).sort()).toEqual(['ckpt']);
    const loaded = await loadCheckpoint(path);
    expect(Array.from(loaded.tensors.weight!.dataSync())).toEqual(
      Array.from(second.stateDict().weight!.dataSync()),
    );
    tf.dispose([...Object.values(loaded.tensors), ...Object.values(loaded.optimizerTensors)]);
    second.dispose();
  });

  it('accepts the model.json path as well as the folder', async () => {
    (await saveTiny(join(dir, 'c'))).dispose();
    const json = await readCheckpointMeta(join(dir, 'c', 'model.json'));
    expect(json.architecture.name).toBe('tiny');
  });

  describe('bad checkpoints give errors that name the file and the problem', () => {
    async function expectError(path: string, file: string, pattern: RegExp): Promise<void> {
      const baseline = tf.memory().numTensors;
      const error = await loadCheckpoint(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).file).toBe(file);
      expect((error as Error).message).toMatch(pattern);
      expect(tf.memory().numTensors).toBe(baseline);
    }

    it('missing folder', async () => {
      await expectError(join(dir, 'nope'), join(dir, 'nope'), /checkpoint not found/);
    });

    it('missing model.json', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      await rm(join(path, 'model.json'));
      await expectError(path, join(path, 'model.json'), /model\.json: file not found/);
    });

    it('missing weights.bin', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      await rm(join(path, 'weights.bin'));
      await expectError(path, join(path, 'weights.bin'), /file not found/);
    });

    it('bad JSON', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      await writeFile(join(path, 'model.json'), '{"format": "semseg-checkpoint", ');
      await expectError(path, join(path, 'model.json'), /not valid JSON/);
    });

    it('unknown format (e.g. a plain tfjs model)', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      await writeFile(join(path, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
      await expectError(path, join(path, 'model.json'), /no "format" field: not a semseg checkpoint/);
      await writeFile(join(path, 'model.json'), JSON.stringify({ format: 'layers-model' }));
      await expectError(path, join(path, 'model.json'), /format "layers-model" is not a semseg checkpoint/);
    });

    it('newer version', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
      await writeFile(join(path, 'model.json'), JSON.stringify({ ...json, version: 7 }));
      await expectError(
        path,
        join(path, 'model.json'),
        /version 7 is newer than this @semseg\/core reads \(1\)/,
      );
    });

    it('invalid metadata fields', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
      await writeFile(
        join(path, 'model.json'),
        JSON.stringify({ ...json, classes: [], normalization: { scale: 3 } }),
      );
      await expectError(
        path,
        join(path, 'model.json'),
        /invalid checkpoint metadata: classes: .*normalization/,
      );
    });

    it('weights path escaping the folder', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths = ['../secret.bin'];
      await writeFile(join(path, 'model.json'), JSON.stringify(json));
      await expectError(path, join(path, 'model.json'), /must be a file name in the checkpoint folder/);
    });

    it('truncated weights.bin', async () => {
      const path = join(dir, 'c');
      (await saveTiny(path)).dispose();
      const bytes = await readFile(join(path, 'weights.bin'));
      await writeFile(join(path, 'weights.bin'), bytes.subarray(0, bytes.length - 10));
      // 4 float32 tensors: weight 2x2x3x4 (192 B), bias 4 (16 B), runningMean 4 (16 B), momentum 2x2x3x4 (192 B).
      await expectError(
        path,
        join(path, 'weights.bin'),
        /has 406 bytes but .*model\.json describes 416 \(truncated/,
      );
    });
  });

  it('missing and mis-shaped tensors are named when applied, and nothing leaks', async () => {
    const path = join(dir, 'c');
    (await saveTiny(path)).dispose();
    const baseline = tf.memory().numTensors;
    const wider = new Tiny(new Rng(1), 5);
    const loaded = await loadCheckpoint(path);
    const { bias, ...withoutBias } = loaded.tensors;
    bias!.dispose();
    let error: unknown;
    try {
      applyCheckpoint(wider, { ...loaded, tensors: withoutBias }, { source: loaded.files.modelJson });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    expect((error as Error).message).toContain(loaded.files.modelJson);
    expect((error as StateDictError).missing).toEqual(['bias']);
    expect((error as StateDictError).mismatched.map((m) => m.name)).toEqual(['weight']);
    wider.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('decodes from bytes (the browser path) with the same validation', async () => {
    const path = join(dir, 'c');
    (await saveTiny(path)).dispose();
    const text = await readFile(join(path, 'model.json'), 'utf8');
    const bytes = new Uint8Array(await readFile(join(path, 'weights.bin')));
    const decoded = decodeCheckpoint(text, bytes);
    expect(decoded.tensors.runningMean!.shape).toEqual([4]);
    tf.dispose([...Object.values(decoded.tensors), ...Object.values(decoded.optimizerTensors)]);
    expect(() => decodeCheckpoint(text, bytes.subarray(4))).toThrow(
      /weights\.bin: has 412 bytes but model\.json describes 416/,
    );
  });
});
