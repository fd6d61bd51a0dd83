// Data-parallel training on wasm, the backend it is for: the replicas hand their gradients over
// straight from wasm's heap and update with the SIMD kernel, and the steps still equal the
// single-thread ones to float rounding.
import { useNodeBackend } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxDifference, trainBoth } from './parallel-setup.js';

beforeAll(async () => {
  await useNodeBackend('wasm');
});

describe('ParallelTrainer on wasm', () => {
  it('takes the single-thread steps to float rounding (two loss terms, three uneven shards)', async () => {
    const before = tf.memory().numTensors;
    // No batch norm: its shards normalise with their own statistics, unlike one thread.
    const { single, parallel, losses } = await trainBoth({ aux: true }, 3, 5, 3);
    expect(tf.getBackend()).toBe('wasm');
    for (const [one, many] of losses) expect(Math.abs(many! - one!)).toBeLessThan(1e-5 * one!);
    const { abs, scale } = maxDifference(single, parallel);
    expect(scale).toBeGreaterThan(0);
    expect(abs / scale).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
  });
});
