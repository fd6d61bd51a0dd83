// A training step that the wasm heap (4 GiB at most) cannot hold stops the run with a message
// that says so and names the routes that work, instead of wasm's "memory access out of bounds".
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@semseg/core';
import type { Batch } from '@semseg/voc-data/node';
import { describe, expect, it } from 'vitest';
import { type TrainingBatches, trainLoop } from '../src/node/train/loop.js';
import type { TrainRunOptions } from '../src/node/train/options.js';
import { RunFiles } from '../src/node/train/run-files.js';
import type { Trainer } from '../src/train/trainer.js';

function batches(): TrainingBatches {
  const batch = {
    images: new Float32Array(12),
    labels: new Uint8Array(4),
    batchSize: 1,
    height: 2,
    width: 2,
    epoch: 0,
    position: { epoch: 0, index: 1 },
  };
  return {
    async *[Symbol.asyncIterator]() {
      yield batch as unknown as Batch;
    },
    close: async () => {},
  };
}

const failing = (message: string) =>
  ({
    step: 0,
    trainStep: async () => {
      throw new Error(message);
    },
  }) as unknown as Trainer;

describe('a step that does not fit in the wasm heap', () => {
  it('is a ConfigError naming the limit and the routes that work, on wasm only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'semseg-wasm-memory-'));
    try {
      const files = new RunFiles(dir);
      const hooks = { checkpoint: async () => {}, evaluate: async () => {}, advanced: () => {} };
      const options = { steps: 2, backend: 'wasm' } as TrainRunOptions;
      const error = await trainLoop(
        failing('memory access out of bounds'),
        batches(),
        options,
        files,
        hooks,
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(
        /^training step 1 \(batch 1 x 2x2\) does not fit in wasm's 4 GiB heap \(memory access out of bounds\); use --backend cpu/,
      );
      const other = await trainLoop(
        failing('memory access out of bounds'),
        batches(),
        { ...options, backend: 'cpu' },
        files,
        hooks,
      ).catch((e: unknown) => e);
      expect(other).not.toBeInstanceOf(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
