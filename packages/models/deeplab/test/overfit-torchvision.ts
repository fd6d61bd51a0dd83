import { type Module, Rng, type SegmentationModel, createModel, getModelDefinition } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import { syntheticScenes } from '@semseg/tooling/synthetic';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { settleBatchNorm } from './settle-batch-norm.js';

export interface OverfitCase {
  name: string;
  config: Record<string, unknown>;
  /** Image side: the scenes must be drawable at the model's output stride (see the test files). */
  size: number;
  lr: number;
  maxSteps: number;
  seed: number;
}

function pixelAccuracy(model: SegmentationModel, x: tf.Tensor4D, labels: Uint8Array): number {
  const predicted = tf.tidy(() => tf.argMax(model.forward(x), 3).dataSync());
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * Fits one synthetic batch (2 scenes, 3 classes) through the engine's Trainer with Adam, the
 * model's parameter groups and `trainingOutputs` (auxiliary heads included), and scores it in eval
 * mode every 5 steps after settling the batch-norm statistics on the batch (settleBatchNorm).
 * Returns the accuracy reached; asserts >= 0.95 and no tensor leak over the steps.
 */
export async function overfitTorchvision(c: OverfitCase): Promise<number> {
  const n = 2;
  const { size } = c;
  const { images, labels } = syntheticScenes(n, size, new Rng(c.seed));
  const model = createModel(
    c.name,
    { numClasses: 3, ...c.config },
    { rng: new Rng(c.seed) },
  ) as SegmentationModel & Module;
  const trainer = new Trainer({
    model,
    optimizer: { type: 'adam', weightDecay: 0 },
    schedule: { policy: 'fixed', baseLr: c.lr, maxSteps: c.maxSteps },
    parameterGroup: getModelDefinition(c.name).parameterGroup,
  });
  const x = tf.tensor4d(images, [n, size, size, 3]);
  let accuracy = 0;
  let unsettled = 0;
  let before = -1;
  const losses: number[] = [];
  let step = 0;
  for (step = 1; step <= c.maxSteps; step++) {
    losses.push((await trainer.trainStep(images, labels, [n, size, size])).loss);
    // Synchronous kernels resolve the step's promise at once: let the worker answer vitest's RPC.
    await new Promise((resolve) => setImmediate(resolve));
    if (step === 2) before = tf.memory().numTensors;
    if (step % 5 === 0) {
      model.eval();
      unsettled = pixelAccuracy(model, x, labels);
      settleBatchNorm(model, x);
      accuracy = pixelAccuracy(model, x, labels);
      model.train();
      console.log(step, losses.at(-1), unsettled, accuracy, pixelAccuracy(model, x, labels));
      if (accuracy >= 0.95) break;
    }
  }
  console.log(
    `${c.name} ${JSON.stringify(c.config)} ${size}x${size}: eval-mode pixel accuracy ${accuracy.toFixed(3)} after ${step} steps ` +
      `(running statistics as trained: ${unsettled.toFixed(3)}), loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}`,
  );
  expect(accuracy).toBeGreaterThanOrEqual(0.95);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  trainer.dispose();
  model.dispose();
  return accuracy;
}
