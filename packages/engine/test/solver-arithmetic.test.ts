// The reference solvers' arithmetic, by hand: Caffe's SGD on a summed loss (FCN), its lr_mult /
// decay_mult, and the same steps from our mean loss with lr x pixels and decay / pixels.
import { Module, type ParameterGroup, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ParameterOptimizer, Trainer, learningRate } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Two parameters: class-0 logit w * (red channel) + b, class-1 logit 0. */
class TwoParameters extends Module implements SegmentationModel {
  readonly numClasses = 2;
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(w: number, b: number) {
    super();
    this.w = this.registerParameter('weight', tf.tensor1d([w]));
    this.b = this.registerParameter('bias', tf.tensor1d([b]), { weightDecay: false });
  }
  forward(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const red = tf.slice(images, [0, 0, 0, 0], [-1, -1, -1, 1]);
      const z = tf.add(tf.mul(red, this.w), this.b);
      return tf.concat([z, tf.zerosLike(z)], 3) as tf.Tensor4D;
    });
  }
}

// The FCN prototxts: weights lr_mult 1 decay_mult 1, biases lr_mult 2 decay_mult 0.
const caffeGroups = (name: string): ParameterGroup =>
  name.endsWith('bias') ? { lrMultiplier: 2, decayMultiplier: 0 } : { lrMultiplier: 1, decayMultiplier: 1 };

// One image, 3 x 4 pixels; two are void (255).
const red = [0.2, -1, 0.5, 1.5, 0.3, -0.4, 2, 0.1, -0.7, 0.9, 1.1, -0.2];
const labels = Uint8Array.from([0, 1, 1, 0, 255, 0, 1, 0, 255, 1, 0, 1]);
const images = new Float32Array(red.flatMap((r) => [r, 0, 0]));
const labelled = labels.filter((l) => l !== 255).length;

/** Caffe's update in float64: v = m v + lr * lr_mult * (g_sum + wd * decay_mult * w); w -= v. */
function caffeSteps(steps: number, lr: number, momentum: number, wd: number): { w: number; b: number } {
  let w = 0.8;
  let b = -0.3;
  let vw = 0;
  let vb = 0;
  for (let s = 0; s < steps; s++) {
    let gw = 0;
    let gb = 0;
    red.forEach((f, i) => {
      if (labels[i] === 255) return;
      const p0 = 1 / (1 + Math.exp(-(w * f + b)));
      const dz = p0 - (labels[i] === 0 ? 1 : 0);
      gw += dz * f;
      gb += dz;
    });
    vw = momentum * vw + lr * 1 * (gw + wd * 1 * w);
    vb = momentum * vb + lr * 2 * (gb + wd * 0 * b);
    w -= vw;
    b -= vb;
  }
  return { w, b };
}

async function ours(
  lossReduction: 'sum' | 'mean',
  lr: number,
  wd: number,
): Promise<{ w: number; b: number }> {
  const model = new TwoParameters(0.8, -0.3);
  const trainer = new Trainer({
    model,
    optimizer: { type: 'sgd', momentum: 0.99, weightDecay: wd },
    schedule: { policy: 'fixed', baseLr: lr, maxSteps: 3 },
    parameterGroup: caffeGroups,
    lossReduction,
  });
  for (let s = 0; s < 3; s++) await trainer.trainStep(images, labels, [1, 3, 4]);
  const result = { w: model.w.dataSync()[0]!, b: model.b.dataSync()[0]! };
  trainer.dispose();
  model.dispose();
  return result;
}

describe('solver arithmetic', () => {
  it("sum reduction takes Caffe's steps exactly: lr (g_sum + wd w), biases x2 and undecayed", async () => {
    const baseline = tf.memory().numTensors;
    const expected = caffeSteps(3, 0.05, 0.99, 0.1);
    const got = await ours('sum', 0.05, 0.1);
    expect(got.w).toBeCloseTo(expected.w, 5);
    expect(got.b).toBeCloseTo(expected.b, 5);
    // The decay and the bias multiplier both matter here: without them the result differs.
    const plain = caffeSteps(3, 0.05, 0.99, 0);
    expect(Math.abs(plain.w - expected.w)).toBeGreaterThan(1e-3);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a mean loss takes the same steps with lr x labelled pixels and weight decay / labelled pixels', async () => {
    const expected = caffeSteps(3, 0.05, 0.99, 0.1);
    const got = await ours('mean', 0.05 * labelled, 0.1 / labelled);
    expect(got.w).toBeCloseTo(expected.w, 5);
    expect(got.b).toBeCloseTo(expected.b, 5);
    // With lr x pixels but decay left as is (the old FCN presets) the decay is pixels times too strong.
    const wrong = await ours('mean', 0.05 * labelled, 0.1);
    expect(Math.abs(wrong.w - expected.w)).toBeGreaterThan(1e-3);
  });

  it('RMSprop as torch.optim.RMSprop (alpha 0.99, eps 1e-8, L2 decay in the gradient), by hand', () => {
    const model = new TwoParameters(0.8, -0.3);
    const opt = new ParameterOptimizer(model.namedParameters(), { type: 'rmsprop', weightDecay: 0.01 }, (e) =>
      caffeGroups(e.name),
    );
    const grads = () => ({ [model.w.name]: tf.tensor1d([0.5]), [model.b.name]: tf.tensor1d([-2]) });
    const g1 = grads();
    opt.apply(g1, 0.001);
    // w: g = 0.5 + 0.01 * 0.8 = 0.508; s = 0.01 * 0.508^2 = 0.00258064; w -= 0.001 * 0.508 / sqrt(s).
    const s1 = 0.01 * 0.508 ** 2;
    const w1 = 0.8 - (0.001 * 0.508) / (Math.sqrt(s1) + 1e-8);
    expect(model.w.dataSync()[0]).toBeCloseTo(w1, 6);
    // b: lr x2, no decay: s = 0.01 * 4; b -= 0.002 * -2 / 0.2 = +0.02.
    expect(model.b.dataSync()[0]).toBeCloseTo(-0.3 + 0.02, 6);
    const g2 = grads();
    opt.apply(g2, 0.001);
    const g = 0.5 + 0.01 * w1;
    const s2 = 0.99 * s1 + 0.01 * g * g;
    expect(model.w.dataSync()[0]).toBeCloseTo(w1 - (0.001 * g) / (Math.sqrt(s2) + 1e-8), 6);
    expect(Object.keys(opt.state())).toEqual(['weight.square_avg', 'bias.square_avg']);
    tf.dispose([...Object.values(g1), ...Object.values(g2)]);
    opt.dispose();
    model.dispose();
  });

  it("per-pixel loss weights (U-Net's): sum of w_p * loss_p over labelled pixels / their count, by hand", async () => {
    const model = new TwoParameters(0.8, -0.3);
    const trainer = new Trainer({
      model,
      optimizer: { type: 'sgd' },
      schedule: { policy: 'fixed', baseLr: 1, maxSteps: 1 },
    });
    const pixelWeights = Float32Array.from(red, (_, i) => 1 + (i % 3));
    let expected = 0;
    red.forEach((f, i) => {
      if (labels[i] === 255) return;
      const p0 = 1 / (1 + Math.exp(-(0.8 * f - 0.3)));
      expected += pixelWeights[i]! * -Math.log(labels[i] === 0 ? p0 : 1 - p0);
    });
    expected /= labelled;
    const x = tf.tensor4d(images, [1, 3, 4, 3]);
    const y = tf.tensor3d(Int32Array.from(labels), [1, 3, 4], 'int32');
    const w = tf.tensor3d(pixelWeights, [1, 3, 4]);
    const loss = trainer.loss(x, y, w);
    expect((await loss.data())[0]).toBeCloseTo(expected, 5);
    const step = await trainer.trainStep(images, labels, [1, 3, 4], { pixelWeights });
    expect(step.loss).toBeCloseTo(expected, 5);
    tf.dispose([x, y, w, loss]);
    trainer.dispose();
    model.dispose();
  });

  it('exp policy: base * gamma ^ step (Caffe)', () => {
    expect(learningRate({ policy: 'exp', baseLr: 1e-3, gamma: 0.995, maxSteps: 10 }, 4)).toBeCloseTo(
      1e-3 * 0.995 ** 4,
      15,
    );
  });
});
