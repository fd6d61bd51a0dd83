import type { DataPosition } from '@semseg/voc-data';
import type { Batch } from '@semseg/voc-data/node';

/** Where training batches come from: random crops (BatchPipeline) or object-centred crops. */
export type TrainingBatches = AsyncIterable<Batch> & { close(): Promise<void> };
import { ConfigError } from '@semseg/core';
import { NonFiniteLossError, type Trainer } from '../../train/trainer.js';
import { ROUTES, WASM_OUT_OF_MEMORY } from './memory-check.js';
import type { TrainRunOptions, TrainRunResult } from './options.js';
import type { RunFiles } from './run-files.js';
import type { BatchPixelWeights } from './weight-maps.js';

export interface LoopHooks {
  /** A checkpoint of the run so far in `latest` (every `checkpointEvery` steps). */
  checkpoint(): Promise<unknown>;
  /** An evaluation on the validation split (every `evalEvery` steps). */
  evaluate(): Promise<unknown>;
  /** The data position after the batch just trained on (saved by checkpoints). */
  advanced(position: DataPosition): void;
  /** Per-pixel loss weights for a batch (`--weight-map`). */
  pixelWeights?: BatchPixelWeights;
}

export interface LoopResult {
  reason: TrainRunResult['reason'];
  lastLoss: number;
}

/**
 * The training steps: one batch, one update, the log, periodic checkpoints and evaluations, until
 * `steps`, `stopAfter` or the abort signal. A non-finite loss is logged and rethrown (the weights
 * of that step are not applied).
 */
export async function trainLoop(
  trainer: Trainer,
  pipeline: TrainingBatches,
  options: TrainRunOptions,
  files: RunFiles,
  hooks: LoopHooks,
): Promise<LoopResult> {
  let lastLoss = Number.NaN;
  const logEvery = options.logEvery ?? 10;
  let last = performance.now();
  if (trainer.step >= options.steps) return { reason: 'finished', lastLoss };
  for await (const batch of pipeline) {
    if (options.signal?.aborted) return { reason: 'interrupted', lastLoss };
    const result = await step(trainer, batch, options, files, hooks.pixelWeights);
    hooks.advanced(batch.position);
    lastLoss = result.loss;
    const now = performance.now();
    const imagesPerSecond = (batch.batchSize * 1000) / Math.max(1e-6, now - last);
    last = now;
    const record = {
      step: result.step,
      epoch: batch.epoch,
      loss: result.loss,
      lr: result.lr,
      imagesPerSecond,
    };
    options.onEvent?.({ type: 'step', totalSteps: options.steps, ...record });
    if (result.step % logEvery === 0 || result.step === options.steps)
      await files.log({ event: 'step', ...record });
    const before = result.step < options.steps;
    // Evaluate before the checkpoint of the same step: a run killed in between redoes both, so
    // the best checkpoint (--save-best) never misses an evaluation.
    if (options.evalEvery && result.step % options.evalEvery === 0 && before) await hooks.evaluate();
    if (options.checkpointEvery && result.step % options.checkpointEvery === 0 && before)
      await hooks.checkpoint();
    if (result.step >= options.steps) return { reason: 'finished', lastLoss };
    if (options.stopAfter !== undefined && result.step >= options.stopAfter)
      return { reason: 'interrupted', lastLoss };
  }
  return { reason: 'finished', lastLoss };
}

async function step(
  trainer: Trainer,
  batch: Batch,
  options: TrainRunOptions,
  files: RunFiles,
  pixelWeights: BatchPixelWeights | undefined,
) {
  const shape = [batch.batchSize, batch.height, batch.width] as const;
  try {
    return pixelWeights
      ? await trainer.trainStep(batch.images, batch.labels, shape, { pixelWeights: pixelWeights(batch) })
      : await trainer.trainStep(batch.images, batch.labels, shape);
  } catch (e) {
    if (options.backend === 'wasm' && e instanceof Error && WASM_OUT_OF_MEMORY.test(e.message)) {
      // wasm32's heap is at most 4 GiB: weights, gradients, optimiser slots and every activation
      // the backward pass keeps must fit (a full-width FCN-8s at 500x500 does not).
      throw new ConfigError(
        `training step ${trainer.step + 1} (batch ${batch.batchSize} x ${batch.height}x${batch.width}) does not fit in wasm's 4 GiB heap (${e.message}); ${ROUTES}`,
      );
    }
    if (e instanceof NonFiniteLossError) {
      options.onEvent?.({ type: 'stopped', step: e.step, reason: 'non-finite-loss', message: e.message });
      await files.log({ event: 'stopped', step: e.step, reason: 'non-finite-loss', message: e.message });
    }
    throw e;
  }
}
