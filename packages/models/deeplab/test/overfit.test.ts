// Learning tests, not timings: width-1/8 models must fit one synthetic batch through the engine's
// Trainer, i.e. through their `trainingOutputs` (the released loss on shrunk labels for v1) and
// parameter groups, leaking no tensors over the steps.
import { Rng, type SegmentationModel, getModelDefinition } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeepLabV1, DeepLabV2, DilatedNet, shrinkLabels } from '../src/index.js';
import { syntheticBatch } from './synthetic.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await useWasm();
});

function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** Pixel accuracy of the logits at the input (full) or of the score map against shrunk labels. */
function evaluate(model: SegmentationModel, x: tf.Tensor4D, y: tf.Tensor3D, at: 'full' | 'scores'): number {
  return tf.tidy(() => {
    if (at === 'full') return accuracy(tf.argMax(model.forward(x), 3).dataSync(), y.dataSync());
    const [term] = model.trainingOutputs!(x, y);
    return accuracy(tf.argMax(term!.logits, 3).dataSync(), term!.labels.dataSync());
  });
}

async function overfit(
  name: string,
  model: SegmentationModel,
  size: number,
  at: 'full' | 'scores',
  lr: number,
  maxSteps: number,
): Promise<void> {
  const n = 2;
  const { images, labels } = syntheticBatch(n, size, 11);
  const trainer = new Trainer({
    model,
    optimizer: { type: 'adam' },
    schedule: { policy: 'fixed', baseLr: lr, maxSteps },
    parameterGroup: getModelDefinition(name).parameterGroup,
  });
  const x = tf.tensor4d(images, [n, size, size, 3]);
  const y = tf.tensor3d(Int32Array.from(labels), [n, size, size], 'int32');
  let acc = 0;
  let baseline = -1;
  const losses: number[] = [];
  let step = 0;
  for (step = 1; step <= maxSteps; step++) {
    const { loss } = await trainer.trainStep(images, labels, [n, size, size]);
    losses.push(loss);
    if (step === 2) baseline = tf.memory().numTensors;
    if (step % 10 === 0) {
      model.eval();
      acc = evaluate(model, x, y, at);
      model.train();
      if (acc > 0.95) break;
    }
  }
  console.log(
    `${name}: pixel accuracy ${acc.toFixed(3)} (${at}) after ${step} steps, loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}`,
  );
  expect(acc).toBeGreaterThan(0.95);
  expect(tf.memory().numTensors).toBe(baseline);
  tf.dispose([x, y]);
  trainer.dispose();
  model.dispose();
}

describe('DeepLab and DilatedNet learn', () => {
  it('deeplab-v1 (width 1/8) fits one batch on its released loss (labels shrunk x8)', async () => {
    const model = new DeepLabV1({ width: 1 / 8, numClasses: 3, dropout: 0 }, new Rng(1));
    await overfit('deeplab-v1', model, 49, 'scores', 3e-3, 200);
  }, 300_000);

  it('deeplab-v2 ASPP-L (width 1/8) fits one batch at full resolution', async () => {
    const model = new DeepLabV2(
      { width: 1 / 8, numClasses: 3, dropout: 0, lossResolution: 'full' },
      new Rng(2),
    );
    await overfit('deeplab-v2', model, 41, 'full', 2e-3, 200);
  }, 300_000);

  it('dilatednet with the basic context module (width 1/8) fits one batch on its released loss', async () => {
    // Labels every 8 pixels (label_slice stride 8), as fyu/dilation trains. Its 72 labels make
    // the accuracy coarse and the path there sensitive to rounding: with the 3x3 convolutions by
    // Winograd (rounding within 1e-6 of the direct routes' gradients) it took 390 steps, 160 before.
    const model = new DilatedNet(
      { width: 1 / 8, numClasses: 3, dropout: 0, alignment: 'same', context: 'basic' },
      new Rng(3),
    );
    await overfit('dilatednet', model, 48, 'scores', 3e-3, 500);
  }, 300_000);

  it('the shrunk labels the v1 loss used are those of the input (sanity of the metric)', () => {
    const labels = tf.tensor3d(
      Int32Array.from({ length: 49 * 49 }, (_, i) => i % 3),
      [1, 49, 49],
      'int32',
    );
    const s = shrinkLabels(labels, [7, 7]);
    expect(s.arraySync()[0]![1]![1]).toBe((8 * 49 + 8) % 3);
    tf.dispose([labels, s]);
  });
});
