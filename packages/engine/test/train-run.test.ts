import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@semseg/core/node';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TrainEvent,
  type TrainRunOptions,
  readTrainLog,
  runEvaluation,
  runTraining,
} from '../src/node/index.js';
import { registerTestNet } from './helpers.js';

registerTestNet();

let dir: string;
let data: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'semseg-engine-'));
  const voc = await generateSyntheticVoc(join(dir, 'data'), {
    seed: 3,
    count: 6,
    minSize: 33,
    maxSize: 48,
    numClasses: 4,
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
  out,
  steps: 4,
  batchSize: 2,
  crop: [32, 32],
  optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
  schedule: { policy: 'poly', baseLr: 0.01 },
  seed: 11,
  checkpointEvery: 2,
  logEvery: 1,
});

async function weights(path: string): Promise<Record<string, number[]>> {
  const checkpoint = await loadCheckpoint(path);
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) out[name] = Array.from(t.dataSync());
  tf.dispose([...Object.values(checkpoint.tensors), ...Object.values(checkpoint.optimizerTensors)]);
  return out;
}

describe('runTraining', () => {
  it('N steps straight and N/2 + resume + N/2 give bit-identical weights (cpu, with dropout)', async () => {
    // The straight run also evaluates every 2 steps: evaluation must not disturb training.
    const straight = await runTraining({ ...base(join(dir, 'straight')), evalEvery: 2 });
    expect(straight.step).toBe(4);
    expect(straight.reason).toBe('finished');
    expect(straight.evaluations.map((e) => e.step)).toEqual([2, 4]);
    expect(straight.evaluations[1]!.summary.metrics.labelledPixels).toBeGreaterThan(0);

    const controller = new AbortController();
    const events: TrainEvent[] = [];
    const first = await runTraining({
      ...base(join(dir, 'resumed')),
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step' && e.step === 1) controller.abort();
      },
    });
    expect(first.reason).toBe('interrupted');
    expect(first.step).toBe(1);
    expect(events.filter((e) => e.type === 'stopped').map((e) => (e as { reason: string }).reason)).toEqual([
      'interrupted',
    ]);
    // Two more parts: one that stops itself after step 3, one to the end.
    const middle = await runTraining({ ...base(join(dir, 'resumed')), resume: true, stopAfter: 3 });
    expect([middle.step, middle.reason]).toEqual([3, 'interrupted']);
    const second = await runTraining({ ...base(join(dir, 'resumed')), resume: true });
    expect(second.step).toBe(4);

    const a = await weights(straight.finalCheckpoint);
    const b = await weights(second.finalCheckpoint);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const name of Object.keys(a)) expect(b[name], name).toEqual(a[name]);
    // The weights did change from their initialisation.
    expect(a['score.weight']!.some((v) => v !== 0)).toBe(true);

    const log = await readTrainLog(join(dir, 'resumed'));
    expect(log.filter((r) => r.event === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(log.filter((r) => r.event === 'stopped').map((r) => r.reason)).toEqual([
      'interrupted',
      'interrupted',
      'finished',
    ]);
    const run = JSON.parse(await readFile(join(dir, 'resumed', 'run.json'), 'utf8'));
    expect(run.model).toBe('engine-test-net');
  }, 240_000);

  it('evaluates a checkpoint on a split and on shards that merge to the same matrix', async () => {
    const { ConfusionMatrix } = await import('@semseg/metrics');
    const checkpoint = join(dir, 'straight', 'final');
    const whole = await runEvaluation({ checkpoint, data, split: 'train' });
    expect(whole.images).toBeGreaterThan(2);
    expect(whole.meta.architecture.name).toBe('engine-test-net');
    const shards = await Promise.all(
      [0, 1].map((index) => runEvaluation({ checkpoint, data, split: 'train', shard: { index, count: 2 } })),
    );
    expect(shards[0]!.images + shards[1]!.images).toBe(whole.images);
    const merged = ConfusionMatrix.fromJSON(shards[0]!.matrix).merge(
      ConfusionMatrix.fromJSON(shards[1]!.matrix),
    );
    expect(merged.toJSON()).toEqual(whole.matrix);
    const withCrf = await runEvaluation({ checkpoint, data, split: 'val', crf: 'deeplabV1' });
    expect(withCrf.crfMetrics).toBeDefined();
    expect(withCrf.timings.crf).toBeGreaterThan(0);
  }, 240_000);

  it('object-centred sampling (DeconvNet stage 1) trains and resumes bit-identically', async () => {
    const options = (out: string): TrainRunOptions => ({
      ...base(out),
      sampler: 'object-centred',
      crop: [24, 24],
      steps: 3,
      checkpointEvery: 100,
    });
    const shapes: string[] = [];
    const straight = await runTraining({
      ...options(join(dir, 'objects-straight')),
      onEvent: (e) => {
        if (e.type === 'start') shapes.push(e.recipe.find((r) => r.name === 'batches')!.value);
      },
    });
    expect(straight.step).toBe(3);
    expect(shapes[0]).toMatch(/^2 x 24x24 crops/);
    const first = await runTraining({ ...options(join(dir, 'objects-resumed')), stopAfter: 1 });
    expect(first.reason).toBe('interrupted');
    const second = await runTraining({ ...options(join(dir, 'objects-resumed')), resume: true });
    expect(second.step).toBe(3);
    const a = await weights(straight.finalCheckpoint);
    const b = await weights(second.finalCheckpoint);
    for (const name of Object.keys(a)) expect(b[name], name).toEqual(a[name]);
  }, 120_000);

  it('rejects bad options and a resume without a checkpoint with clear messages', async () => {
    await expect(runTraining({ ...base(join(dir, 'bad')), steps: 0 })).rejects.toThrow(
      'steps must be a positive integer, got 0',
    );
    await expect(runTraining({ ...base(join(dir, 'empty')), resume: true })).rejects.toThrow(
      /has no checkpoint to resume from/,
    );
    await expect(runTraining({ ...base(join(dir, 'x')), model: 'fcn9s' })).rejects.toThrow(
      /unknown model 'fcn9s'/,
    );
  });
});
