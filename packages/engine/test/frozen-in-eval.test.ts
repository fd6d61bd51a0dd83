// Head-only fine-tuning: with `frozenInEval`, a frozen batch norm keeps its running statistics
// (and normalises with them), while the trainable head still learns.
import { Module, Rng, type SegmentationModel } from '@semseg/core';
import { Conv2d, TorchBatchNorm2d } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../src/index.js';
import { ParallelTrainer } from '../src/node/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A frozen "backbone" holding a batch norm. */
class Body extends Module {
  readonly bn = this.registerModule('bn', new TorchBatchNorm2d(3));
}

class BnNet extends Module implements SegmentationModel {
  readonly numClasses = 3;
  readonly body = this.registerModule('body', new Body());
  readonly head: Conv2d;
  constructor(rng: Rng) {
    super();
    this.head = this.registerModule(
      'head',
      new Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 1, rng }),
    );
  }
  get bn(): TorchBatchNorm2d {
    return this.body.bn;
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.head.forward(this.bn.forward(x)));
  }
}

async function trainTwoSteps(frozenInEval: boolean) {
  const model = new BnNet(new Rng(1));
  model.setTrainable(false);
  model.setTrainable(true, 'head');
  const trainer = new Trainer({
    model,
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 0 },
    schedule: { policy: 'fixed', baseLr: 0.1, maxSteps: 2 },
    frozenInEval,
  });
  const rng = new Rng(2);
  const images = rng.fillNormal(new Float32Array(2 * 4 * 4 * 3), 3, 2);
  const labels = Uint8Array.from({ length: 2 * 4 * 4 }, (_, i) => i % 3);
  const headBefore = Array.from(model.head.weight.dataSync());
  const first = await trainer.trainStep(images, labels, [2, 4, 4]);
  const second = await trainer.trainStep(images, labels, [2, 4, 4]);
  const result = {
    runningMean: Array.from(model.bn.runningMean.dataSync()),
    headMoved: Array.from(model.head.weight.dataSync()).some((v, i) => v !== headBefore[i]),
    lossFell: second.loss < first.loss,
    bnInTraining: model.bn.training,
  };
  trainer.optimizer.dispose();
  model.dispose();
  return result;
}

describe('Trainer frozenInEval', () => {
  it('a frozen batch norm keeps its running statistics; the head still learns; no leak', async () => {
    const start = tf.memory().numTensors;
    const frozen = await trainTwoSteps(true);
    expect(frozen.runningMean).toEqual([0, 0, 0]);
    expect(frozen.bnInTraining).toBe(false);
    expect(frozen.headMoved).toBe(true);
    expect(frozen.lossFell).toBe(true);
    // Without the option (PyTorch's model.train()), the frozen batch norm's statistics move.
    const plain = await trainTwoSteps(false);
    expect(plain.runningMean.every((v) => Math.abs(v) > 0.1)).toBe(true);
    expect(plain.bnInTraining).toBe(true);
    expect(tf.memory().numTensors).toBe(start);
  });

  it('is refused by the data-parallel trainer (its replicas set their own modes)', async () => {
    const model = new BnNet(new Rng(1));
    await expect(
      ParallelTrainer.create({
        model,
        optimizer: { type: 'sgd' },
        schedule: { policy: 'fixed', baseLr: 0.1, maxSteps: 1 },
        frozenInEval: true,
        threads: 2,
        architecture: { name: 'bn-net', config: {} },
        plugins: [],
      }),
    ).rejects.toThrow(/frozenInEval runs on one thread/);
    model.dispose();
  });
});
