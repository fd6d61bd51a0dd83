import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CAFFE_VGG_NORMALIZATION, type CheckpointMeta } from '../src/index.js';
import { type SaveStage, loadCheckpoint, recoverCheckpoint, saveCheckpoint } from '../src/node/index.js';

const meta: CheckpointMeta = {
  architecture: { name: 'tiny', config: {} },
  classes: ['background'],
  palette: [[0, 0, 0]],
  normalization: CAFFE_VGG_NORMALIZATION,
  training: null,
};

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'semseg-recover-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function save(path: string, value: number, onStage?: (s: SaveStage) => void): Promise<void> {
  const w = tf.fill([3], value);
  await saveCheckpoint(path, { w }, meta, {}, onStage ? { onStage } : {});
  w.dispose();
}

async function valueAt(path: string): Promise<number> {
  const loaded = await loadCheckpoint(path);
  const v = (await loaded.tensors.w!.data())[0]!;
  tf.dispose(Object.values(loaded.tensors));
  return v;
}

describe('recoverCheckpoint repairs what a killed save leaves', () => {
  it('reports the stages of a save in order (the points a test can kill at)', async () => {
    const stages: SaveStage[] = [];
    await save(join(dir, 'latest'), 1, (s) => stages.push(s));
    expect(stages).toEqual(['weights-written']); // nothing to move aside the first time
    await save(join(dir, 'latest'), 2, (s) => stages.push(s));
    expect(stages).toEqual(['weights-written', 'weights-written', 'swapping']);
  });

  it('killed between the two renames: the previous checkpoint is moved back, the new one dropped', async () => {
    await save(join(dir, 'latest'), 1);
    // The state a kill at 'swapping' leaves: latest moved aside, the complete new one still temporary.
    await rename(join(dir, 'latest'), join(dir, '.latest.old-1-aa'));
    await save(join(dir, 'other'), 2);
    await rename(join(dir, 'other'), join(dir, '.latest.tmp-1-aa'));
    expect(await recoverCheckpoint(join(dir, 'latest'))).toBe(true);
    expect(await valueAt(join(dir, 'latest'))).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['latest']);
  });

  it('killed while writing: the unfinished temporary folder goes, the checkpoint stays', async () => {
    await save(join(dir, 'latest'), 1);
    await mkdir(join(dir, '.latest.tmp-9-bb'));
    await writeFile(join(dir, '.latest.tmp-9-bb', 'weights.bin'), new Uint8Array(5));
    expect(await recoverCheckpoint(join(dir, 'latest'))).toBe(true);
    expect(await valueAt(join(dir, 'latest'))).toBe(1);
    expect(await readdir(dir)).toEqual(['latest']);
  });

  it('killed before removing the old one: the new checkpoint stays, the old is removed', async () => {
    await save(join(dir, 'latest'), 2);
    await save(join(dir, '.latest.old-3-cc'), 1);
    expect(await recoverCheckpoint(join(dir, 'latest'))).toBe(true);
    expect(await valueAt(join(dir, 'latest'))).toBe(2);
    expect(await readdir(dir)).toEqual(['latest']);
  });

  it('nothing saved yet: false, and a missing parent folder is no error', async () => {
    expect(await recoverCheckpoint(join(dir, 'latest'))).toBe(false);
    expect(await recoverCheckpoint(join(dir, 'no', 'such', 'latest'))).toBe(false);
    await mkdir(join(dir, '.latest.tmp-1-dd'));
    expect(await recoverCheckpoint(join(dir, 'latest'))).toBe(false);
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(join(dir, 'x')).catch(() => 'none')).toBe('none');
  });
});
