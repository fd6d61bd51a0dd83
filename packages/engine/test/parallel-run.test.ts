// runTraining and runEvaluation with replica threads: a resumed run ends bit-identical to a
// straight one, a thread that dies leaves the last checkpoint, evaluation scores as one thread.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@semseg/core/node';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng, createModel } from '@semseg/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refineWithCrf } from '../src/inference/crf.js';
import { predictImageAsync } from '../src/inference/predict.js';
import {
  ReplicaPool,
  type TrainRunOptions,
  readTrainLog,
  runEvaluation,
  runTraining,
} from '../src/node/index.js';
import { PLAIN, randomImage } from './helpers.js';
import { PARALLEL_PLUGIN } from './parallel-models.js';

let dir: string;
let data: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'semseg-parallel-'));
  const voc = await generateSyntheticVoc(join(dir, 'data'), {
    seed: 5,
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
  model: 'parallel-test-net',
  modelConfig: { hidden: 4, dropout: 0.3, batchNorm: true },
  data,
  out,
  steps: 4,
  batchSize: 3,
  crop: [16, 16],
  optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
  schedule: { policy: 'poly', baseLr: 0.01 },
  seed: 4,
  checkpointEvery: 2,
  logEvery: 1,
  threads: 2,
  plugins: [PARALLEL_PLUGIN],
});

async function weights(path: string): Promise<Record<string, number[]>> {
  const checkpoint = await loadCheckpoint(path);
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries({ ...checkpoint.tensors, ...checkpoint.optimizerTensors }))
    out[name] = Array.from(t.dataSync());
  tf.dispose([...Object.values(checkpoint.tensors), ...Object.values(checkpoint.optimizerTensors)]);
  return out;
}

describe('runTraining with threads', () => {
  it('resumes bit-identically (dropout and batch norm, 2 threads)', async () => {
    const straight = await runTraining(base(join(dir, 'straight')));
    expect(straight.reason).toBe('finished');
    await runTraining({ ...base(join(dir, 'resumed')), stopAfter: 2 });
    const second = await runTraining({ ...base(join(dir, 'resumed')), resume: true });
    expect(second.step).toBe(4);
    expect(await weights(second.finalCheckpoint)).toEqual(await weights(straight.finalCheckpoint));
  });

  it('stops with an error naming the thread that died and keeps the last checkpoint', async () => {
    // Batches of 3 in two shards (1 and 2 images): the thread with 2 exits at step 3.
    const out = join(dir, 'died');
    const error = await runTraining({
      ...base(out),
      modelConfig: { hidden: 4, dropout: 0.3, batchNorm: true, exitOnBatchOf: 2, exitAtCall: 3 },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/replica thread 2 of 2 \(semseg-replica-2\) exited with code 7/);
    const latest = await loadCheckpoint(join(out, 'latest'));
    expect((latest.meta.training as { step: number }).step).toBe(2);
    tf.dispose([...Object.values(latest.tensors), ...Object.values(latest.optimizerTensors)]);
    expect((await readTrainLog(out)).filter((e) => e.event === 'checkpoint').map((e) => e.step)).toEqual([2]);
  });
});

describe('runEvaluation with threads', () => {
  it('scores exactly as one thread (with the CRF, one per thread)', async () => {
    const trained = await runTraining({ ...base(join(dir, 'eval')), steps: 2 });
    const options = { checkpoint: trained.finalCheckpoint, data, split: 'val', crf: 'deeplabV1' as const };
    const one = await runEvaluation(options);
    const two = await runEvaluation({ ...options, threads: 2, plugins: [PARALLEL_PLUGIN] });
    expect(two.images).toBe(one.images);
    expect(two.matrix).toEqual(one.matrix);
    expect(two.crfMatrix).toEqual(one.crfMatrix);
    expect(two.metrics).toEqual(one.metrics);
  });
});

describe('ReplicaPool.predict', () => {
  it('returns the single-thread labels, probabilities and CRF marginals bit for bit', async () => {
    const model = createModel('parallel-test-net', { numClasses: 3, batchNorm: true }, { rng: new Rng(8) });
    const pool = await ReplicaPool.start({
      threads: 2,
      model,
      architecture: { name: 'parallel-test-net', config: { ...model.config } },
      plugins: [PARALLEL_PLUGIN],
    });
    try {
      const images = [
        randomImage(20, 17, new Rng(1)),
        randomImage(24, 24, new Rng(2)),
        randomImage(9, 13, new Rng(3)),
      ];
      const options = { normalization: PLAIN };
      const replies = await Promise.all(
        images.map((image) => pool.predict(image, options, 'deeplabV1', { probabilities: true })),
      );
      model.eval();
      for (const [i, image] of images.entries()) {
        const local = await predictImageAsync(model, image, options);
        const refined = refineWithCrf(image, local, 'deeplabV1');
        expect(replies[i]!.labels).toEqual(local.labels);
        expect(replies[i]!.probabilities).toEqual(local.probabilities);
        expect(replies[i]!.crfLabels).toEqual(refined.labels);
        expect(replies[i]!.q).toEqual(refined.q);
      }
    } finally {
      await pool.close();
      model.dispose();
    }
  });
});
