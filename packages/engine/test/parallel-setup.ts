// The data-parallel tests' set-up: the test architecture's batches, models and trainers, and a
// run of the single-thread Trainer beside a ParallelTrainer on the same batches.
import { Rng, createModel } from '@semseg/core';
import { ParallelTrainer } from '../src/node/parallel/index.js';
import { Trainer, type TrainerOptions } from '../src/train/trainer.js';
import { PARALLEL_PLUGIN, type ParallelNet } from './parallel-models.js';

export const NAME = 'parallel-test-net';
export const H = 8;
export const W = 8;

export function batch(seed: number, n: number): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Float32Array(n * H * W * 3);
  const labels = new Uint8Array(n * H * W);
  for (let i = 0; i < images.length; i++) images[i] = rng.uniform(-1, 1);
  // Mostly the class a pixel's first channel says, some void: a learnable, uneven batch.
  for (let p = 0; p < labels.length; p++)
    labels[p] = rng.next() < 0.15 ? 255 : images[p * 3]! > 0.3 ? 2 : images[p * 3]! > -0.3 ? 1 : 0;
  return { images, labels };
}

export function build(config: Record<string, unknown>, seed = 1): ParallelNet {
  return createModel(NAME, { numClasses: 3, ...config }, { rng: new Rng(seed) }) as ParallelNet;
}

export function weightsOf(model: ParallelNet): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const e of model.namedEntries()) out[e.name] = e.variable.dataSync() as Float32Array;
  return out;
}

export function maxDifference(
  a: Record<string, Float32Array>,
  b: Record<string, Float32Array>,
): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  for (const name of Object.keys(a)) {
    for (let i = 0; i < a[name]!.length; i++) {
      abs = Math.max(abs, Math.abs(a[name]![i]! - b[name]![i]!));
      scale = Math.max(scale, Math.abs(a[name]![i]!));
    }
  }
  return { abs, scale };
}

export const recipe = (overrides: Partial<TrainerOptions> = {}): Omit<TrainerOptions, 'model'> => ({
  optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
  schedule: { policy: 'poly', baseLr: 0.05, maxSteps: 100 },
  ...overrides,
});

/** A ParallelTrainer over `threads` replicas of `model` (the test architecture, its own config). */
export function startParallel(
  model: ParallelNet,
  threads = 2,
  overrides: Partial<TrainerOptions> = {},
): Promise<ParallelTrainer> {
  return ParallelTrainer.create({
    model,
    ...recipe(overrides),
    threads,
    architecture: { name: NAME, config: { ...model.config } },
    plugins: [PARALLEL_PLUGIN],
  });
}

export async function trainBoth(
  config: Record<string, unknown>,
  steps: number,
  n: number,
  threads: number,
  overrides: Partial<TrainerOptions> = {},
): Promise<{
  single: Record<string, Float32Array>;
  parallel: Record<string, Float32Array>;
  losses: number[][];
  /** Per step, each replica's wait for the others' counts mid-step (0: it did not exchange). */
  countWaits: number[][];
}> {
  const one = build(config);
  const many = build(config);
  const single = new Trainer({ model: one, ...recipe(overrides) });
  const parallel = await startParallel(many, threads, overrides);
  const losses: number[][] = [];
  const countWaits: number[][] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const { images, labels } = batch(100 + s, n);
      const a = await single.trainStep(images, labels, [n, H, W]);
      const b = await parallel.trainStep(images, labels, [n, H, W]);
      losses.push([a.loss, b.loss]);
      countWaits.push(parallel.lastReplicaTimings.map((t) => t.counts));
    }
    return { single: weightsOf(one), parallel: weightsOf(many), losses, countWaits };
  } finally {
    await parallel.close();
    single.dispose();
    parallel.dispose();
    one.dispose();
    many.dispose();
  }
}
