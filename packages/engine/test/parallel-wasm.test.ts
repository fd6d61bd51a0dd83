// Data-parallel training on wasm, the backend it is for: the replicas hand their gradients over
// straight from wasm's heap and update with the SIMD kernel, and the step still equals the
// single-thread one to float rounding.
import { Rng, createModel } from '@semseg/core';
import { useNodeBackend } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ParallelTrainer } from '../src/node/parallel/index.js';
import { Trainer } from '../src/train/trainer.js';
import { PARALLEL_PLUGIN, type ParallelNet } from './parallel-models.js';

const NAME = 'parallel-test-net';
const [N, H, W] = [5, 8, 8];

beforeAll(async () => {
  await useNodeBackend('wasm');
});

describe('ParallelTrainer on wasm', () => {
  it('takes the single-thread steps to float rounding (two loss terms, three uneven shards)', async () => {
    // No batch norm: its shards normalise with their own statistics, unlike one thread.
    const config = { numClasses: 3, aux: true };
    const build = () => createModel(NAME, config, { rng: new Rng(4) }) as ParallelNet;
    const recipe = {
      optimizer: { type: 'sgd' as const, momentum: 0.9, weightDecay: 5e-4 },
      schedule: { policy: 'fixed' as const, baseLr: 0.05, maxSteps: 3 },
    };
    const one = build();
    const many = build();
    const single = new Trainer({ model: one, ...recipe });
    const parallel = await ParallelTrainer.create({
      model: many,
      ...recipe,
      threads: 3,
      architecture: { name: NAME, config },
      plugins: [PARALLEL_PLUGIN],
    });
    try {
      expect(parallel.pool.memory).not.toBeNull();
      const rng = new Rng(9);
      for (let step = 0; step < 3; step++) {
        const images = rng.fillNormal(new Float32Array(N * H * W * 3));
        const labels = Uint8Array.from({ length: N * H * W }, () => rng.int(3));
        const a = await single.trainStep(images, labels, [N, H, W]);
        const b = await parallel.trainStep(images, labels, [N, H, W]);
        expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-5 * a.loss);
      }
      const before = tf.memory().numTensors;
      let largest = 0;
      let difference = 0;
      const theirs = new Map(many.namedEntries().map((e) => [e.name, e.variable.dataSync()]));
      for (const e of one.namedEntries()) {
        const mine = e.variable.dataSync();
        const other = theirs.get(e.name)!;
        for (let i = 0; i < mine.length; i++) {
          largest = Math.max(largest, Math.abs(mine[i]!));
          difference = Math.max(difference, Math.abs(mine[i]! - other[i]!));
        }
      }
      expect(tf.memory().numTensors).toBe(before);
      // The weights moved from their start, and the two runs moved them alike.
      expect(largest).toBeGreaterThan(0);
      expect(difference / largest).toBeLessThan(1e-5);
    } finally {
      await parallel.close();
      single.dispose();
      parallel.dispose();
      one.dispose();
      many.dispose();
    }
  });
});
