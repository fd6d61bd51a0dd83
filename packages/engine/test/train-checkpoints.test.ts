import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpointMeta } from '@semseg/core/node';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TrainRunOptions, readTrainLog, runTraining } from '../src/node/index.js';
import { registerTestNet } from './helpers.js';

registerTestNet();

// Keep-last-N, keep-best and the resume paths of a run killed at awkward moments, in process.
// (apps/cli/test/train-kill.test.ts kills real CLI processes with SIGKILL.)
let dir: string;
let data: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'semseg-ckpts-'));
  const voc = await generateSyntheticVoc(join(dir, 'data'), {
    seed: 5,
    count: 5,
    minSize: 32,
    maxSize: 40,
    numClasses: 3,
  });
  data = voc.root;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (out: string): TrainRunOptions => ({
  model: 'engine-test-net',
  modelConfig: { hidden: 6, dropout: 0.5 },
  data,
  out: join(dir, out),
  steps: 6,
  batchSize: 2,
  crop: [32, 32],
  optimizer: { type: 'adam', momentum: 0.9, weightDecay: 5e-4 },
  schedule: { policy: 'fixed', baseLr: 3e-3 },
  seed: 2,
  checkpointEvery: 2,
  evalEvery: 2,
  keep: 2,
  saveBest: 'mIoU',
  logEvery: 1,
});

const bytes = (out: string, checkpoint: string) => readFile(join(dir, out, checkpoint, 'weights.bin'));

let straight: Awaited<ReturnType<typeof runTraining>>;

describe('checkpoints of a run', () => {
  it('keeps the newest step checkpoints and the best evaluation', async () => {
    const baseline = tf.memory().numTensors;
    straight = await runTraining(base('straight'));
    expect(tf.memory().numTensors).toBe(baseline);
    const entries = (await readdir(join(dir, 'straight'))).sort();
    expect(entries).toEqual([
      'best',
      'final',
      'latest',
      'run.json',
      'step-00000004',
      'step-00000006',
      'train.jsonl',
    ]);
    // step-6 is latest's files (hard links or copies), step-4 the checkpoint written at step 4.
    expect((await bytes('straight', 'step-00000006')).equals(await bytes('straight', 'latest'))).toBe(true);
    expect((await readCheckpointMeta(join(dir, 'straight', 'step-00000004'))).training?.step).toBe(4);

    // Evaluations at 2, 4, 6 (and the final one at 6): best is the first of the highest mIoU.
    const scores = straight.evaluations.map((e) => ({ step: e.step, value: e.summary.metrics.meanIoU }));
    let expected = scores[0]!;
    for (const s of scores) if (s.value > expected.value) expected = s;
    const best = (await readCheckpointMeta(join(dir, 'straight', 'best'))).training as {
      step: number;
      best: { metric: string; value: number; step: number };
    };
    expect(best.best).toEqual({ metric: 'mIoU', value: expected.value, step: expected.step });
    expect(best.step).toBe(expected.step);
    const log = await readTrainLog(join(dir, 'straight'));
    expect(log.filter((r) => r.event === 'best').map((r) => r.step)).toContain(expected.step);
  }, 120_000);

  it('--save-best without evaluations is a clear error', async () => {
    const { evalEvery: _, ...noEval } = base('no-eval');
    await expect(runTraining(noEval)).rejects.toThrow(
      '--save-best mIoU needs evaluations (--eval-every <steps>)',
    );
    await expect(runTraining({ ...base('k0'), keep: 0 })).rejects.toThrow(
      'checkpoints to keep must be a positive integer, got 0',
    );
  });

  it('a run killed before its first checkpoint starts again from step 0 on resume, bit-identical', async () => {
    // What SIGKILL before step 2 leaves: run.json and the start of the log, no checkpoint.
    const out = 'early';
    await runTraining({ ...base(out), stopAfter: 2 });
    for (const name of ['latest', 'best', 'step-00000002'])
      await rm(join(dir, out, name), { recursive: true });
    await mkdir(join(dir, out, '.latest.tmp-1-ab')); // a write that never finished
    const resumed = await runTraining({ ...base(out), resume: true });
    expect(resumed.reason).toBe('finished');
    expect((await bytes(out, 'final')).equals(await bytes('straight', 'final'))).toBe(true);
    expect((await bytes(out, 'best')).equals(await bytes('straight', 'best'))).toBe(true);
    const log = await readTrainLog(join(dir, out));
    expect(log.some((r) => r.event === 'restart' && r.step === 0)).toBe(true);
    expect((await readdir(join(dir, out))).filter((e) => e.startsWith('.'))).toEqual([]);
  }, 120_000);

  it('a run killed between the renames of a checkpoint write resumes from the previous one', async () => {
    const out = 'swap';
    await runTraining({ ...base(out), stopAfter: 4 });
    // Killed while replacing latest (step 4): it was moved aside and the new one never moved in.
    await rename(join(dir, out, 'latest'), join(dir, out, '.latest.old-7-cd'));
    await mkdir(join(dir, out, '.latest.tmp-7-cd'));
    await writeFile(join(dir, out, '.latest.tmp-7-cd', 'weights.bin'), new Uint8Array(3));
    const resumed = await runTraining({ ...base(out), resume: true });
    expect(resumed.reason).toBe('finished');
    expect((await bytes(out, 'final')).equals(await bytes('straight', 'final'))).toBe(true);
    expect((await bytes(out, 'best')).equals(await bytes('straight', 'best'))).toBe(true);
    expect((await readdir(join(dir, out))).sort()).toEqual((await readdir(join(dir, 'straight'))).sort());
  }, 120_000);

  it('resuming an empty folder is still an error', async () => {
    await expect(runTraining({ ...base('nothing'), resume: true })).rejects.toThrow(
      /has no checkpoint to resume from and no run\.json to start it again from/,
    );
  });
});
