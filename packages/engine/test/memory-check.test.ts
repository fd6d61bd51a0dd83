// The wasm heap check before a run's first step: the estimate from three small probe steps
// against a real step's peak, what the probes leave behind (nothing), and the refusal's message.
// On wasm, the backend the check is for (a second here, against 30 s on the cpu backend).
import { ConfigError, Rng, createModel } from '@semseg/core';
import { useNodeBackend } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkWasmStepFits, estimateStepMemory } from '../src/node/train/memory-check.js';
import { Trainer } from '../src/train/trainer.js';
import type { ParallelNet } from './parallel-models.js';
import './parallel-models.js';

function trainerFor(config: Record<string, unknown>): Trainer {
  const model = createModel(
    'parallel-test-net',
    { numClasses: 3, ...config },
    { rng: new Rng(2) },
  ) as ParallelNet;
  return new Trainer({
    model,
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    schedule: { policy: 'fixed', baseLr: 0.01, maxSteps: 10 },
  });
}

/** The heap's peak during one real training step's forward and backward, above what it held. */
async function stepPeak(trainer: Trainer, n: number, side: number): Promise<number> {
  const x = tf.randomNormal([n, side, side, 3]) as tf.Tensor4D;
  const y = tf.zeros([n, side, side], 'int32') as tf.Tensor3D;
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => trainer.loss(x, y), trainer.optimizer.variables());
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([x, y]);
  return info.peakBytes - before;
}

describe('the wasm heap check before the first step', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  it('estimates a larger step from three small probes within 10%, and the probes change nothing', async () => {
    const trainer = trainerFor({ hidden: 24, dropout: 0.5, batchNorm: true });
    const model = trainer.model as ParallelNet;
    const generators = JSON.stringify(model.generatorStates());
    const buffers = model.namedEntries().filter((e) => !e.trainable);
    const saved = await Promise.all(buffers.map((e) => e.variable.data()));
    const tensors = tf.memory().numTensors;
    const estimate = await estimateStepMemory(trainer, {
      batchSize: 2,
      height: 200,
      width: 200,
      slotsPerParameter: 1,
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(JSON.stringify(model.generatorStates())).toBe(generators);
    for (const [i, e] of buffers.entries()) expect(await e.variable.data()).toEqual(saved[i]);
    expect(estimate.probes.map((p) => p.side)).toEqual([64, 96, 128]);
    const actual = await stepPeak(trainer, 2, 200);
    const predicted = estimate.gradientBytes + estimate.activationBytes;
    expect(Math.abs(predicted - actual) / actual).toBeLessThan(0.1);
    trainer.dispose();
    model.dispose();
  });

  it('refuses a step over the limit, naming what takes the room and the routes that work', async () => {
    const trainer = trainerFor({ hidden: 8 });
    const shape = { batchSize: 1, height: 600, width: 600, slotsPerParameter: 1 };
    const error = await checkWasmStepFits(trainer, shape, 1024 ** 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/batch 1 at 600x600 needs about [\d.]+ GB on wasm/);
    expect(message).toMatch(/activations and temporaries of the passes [\d.]+ GB/);
    expect(message).toMatch(/--backend cpu.*--crop or --batch-size.*--width/);
    // Under the limit: the estimate comes back; a small step is not probed at all.
    expect((await checkWasmStepFits(trainer, shape))?.totalBytes).toBeGreaterThan(0);
    expect(await checkWasmStepFits(trainer, { ...shape, height: 96, width: 96 }, 1)).toBeNull();
    trainer.dispose();
    trainer.model.dispose();
  });

  it("turns wasm's out-of-memory inside a probe into the same advice", async () => {
    const trainer = trainerFor({ hidden: 8 });
    const loss = trainer.loss.bind(trainer);
    // The third probe runs out of heap, as a model too large for even a small step would.
    let calls = 0;
    trainer.loss = (...args) => {
      if (++calls === 3) throw new Error('memory access out of bounds');
      return loss(...args);
    };
    const tensors = tf.memory().numTensors;
    const error = await checkWasmStepFits(trainer, {
      batchSize: 1,
      height: 600,
      width: 600,
      slotsPerParameter: 1,
    }).catch((e: unknown) => e);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/even a batch-1 probe step .* does not fit .*--backend cpu/);
    trainer.dispose();
    trainer.model.dispose();
  });
});
