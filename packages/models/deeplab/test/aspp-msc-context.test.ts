import { Rng, createModel } from '@semseg/core';
import type { VGG16 } from '@semseg/vgg16';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContextModule, type DeepLabV1, DeepLabV2, DilatedNet, interp, scaledLength } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('ASPP', () => {
  it('equals the sum of its branches run one by one', () => {
    const model = new DeepLabV2({ width: 1 / 8, numClasses: 4 }, new Rng(2));
    model.eval();
    const x = tf.randomUniform([1, 25, 33, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const baseline = tf.memory().numTensors;
    const sum = model.scores(x);
    const branches = model.branchScores(x);
    expect(branches).toHaveLength(4);
    // Each branch by hand from pool5: fc6_k (rate r_k) / relu / fc7_k / relu / fc8_k.
    const pool5 = (model.backbone as VGG16).forward(x);
    const byHand = model.branches.map((b) =>
      tf.tidy(() => b.fc8.forward(tf.relu(b.fc7.forward(tf.relu(b.fc6.forward(pool5.pool5)))))),
    );
    byHand.forEach((h, i) => expect(maxAbsDiff(h, branches[i]!)).toBe(0));
    expect(model.branches.map((b) => b.fc6.dilation[0])).toEqual([6, 12, 18, 24]);
    const added = tf.addN(byHand);
    expect(maxAbsDiff(sum, added)).toBeLessThan(1e-6);
    tf.dispose([sum, ...branches, ...byHand, added, pool5.pool3, pool5.pool4, pool5.pool5]);
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
    model.dispose();
  });

  it('ASPP-S has rates 2, 4, 8, 12', () => {
    const model = new DeepLabV2({ width: 1 / 16, rates: [2, 4, 8, 12] }, new Rng(0));
    expect(model.branches.map((b) => b.fc6.dilation[0])).toEqual([2, 4, 8, 12]);
    model.dispose();
  });
});

describe('multi-scale inputs (MSC)', () => {
  const model = new DeepLabV2({ width: 1 / 8, numClasses: 3, scales: [1, 0.75, 0.5] }, new Rng(3));

  it('equals the max over the scales run by hand (Interp-resized inputs, scores to scale 1)', () => {
    model.eval();
    const x = tf.randomUniform([2, 33, 41, 3], -1, 1, 'float32', 8) as tf.Tensor4D;
    // Caffe's Interp: 33 -> 25 (x0.75), 17 (x0.5); 41 -> 31, 21.
    expect([scaledLength(33, 0.75), scaledLength(33, 0.5), scaledLength(41, 0.75)]).toEqual([25, 17, 31]);
    const s1 = model.scores(x);
    const x075 = interp(x, [25, 31]);
    const x05 = interp(x, [17, 21]);
    const s075 = model.scores(x075);
    const s05 = model.scores(x05);
    expect(s1.shape).toEqual([2, 5, 6, 3]);
    expect(s075.shape).toEqual([2, 4, 5, 3]);
    expect(s05.shape).toEqual([2, 3, 4, 3]);
    const fused = tf.tidy(() => tf.maximum(tf.maximum(s1, interp(s075, [5, 6])), interp(s05, [5, 6])));
    const logits = model.forward(x);
    const expected = interp(fused as tf.Tensor4D, [33, 41]);
    expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-6);
    tf.dispose([x, s1, x075, x05, s075, s05, fused, logits, expected]);
  });

  it('trains on every scale and the fused output, labels shrunk to each', () => {
    model.train();
    const x = tf.randomUniform([1, 33, 33, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const labels = tf.zeros([1, 33, 33], 'int32') as tf.Tensor3D;
    const terms = model.trainingOutputs(x, labels);
    expect(terms.map((t) => t.logits.shape.slice(1, 3))).toEqual([
      [5, 5],
      [4, 4],
      [3, 3],
      [5, 5],
    ]);
    expect(terms.map((t) => t.labels.shape.slice(1, 3))).toEqual([
      [5, 5],
      [4, 4],
      [3, 3],
      [5, 5],
    ]);
    expect(terms.map((t) => t.weight)).toEqual([1, 1, 1, 1]);
    tf.dispose([x, labels, ...terms.flatMap((t) => [t.logits, t.labels])]);
  });
});

describe('the context module', () => {
  it('basic, identity-initialised, passes a non-negative input through exactly (and truncates negatives)', () => {
    const context = new ContextModule({ classes: 6, variant: 'basic', rng: new Rng(1) });
    const x = tf.randomUniform([2, 9, 11, 6], 0, 3, 'float32', 1) as tf.Tensor4D;
    const y = context.forward(x);
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-6);
    const signed = tf.randomUniform([1, 7, 7, 6], -2, 2, 'float32', 2) as tf.Tensor4D;
    const z = context.forward(signed);
    const relu = tf.relu(signed);
    expect(maxAbsDiff(relu, z)).toBeLessThan(1e-6);
    expect(context.convs.map((c) => c.dilation[0])).toEqual([1, 1, 2, 4, 8, 16, 1, 1]);
    tf.dispose([x, y, signed, z, relu]);
    context.dispose();
  });

  it('large (2C .. 32C) passes its input through up to the small tie-breaking noise', () => {
    const context = new ContextModule({ classes: 3, variant: 'large', rng: new Rng(2) });
    expect(context.convs.map((c) => c.weight.shape[3])).toEqual([6, 6, 12, 24, 48, 96, 96, 3]);
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = context.forward(x);
    const exactly = new ContextModule({ classes: 3, variant: 'large', rng: new Rng(2), noise: 0 });
    const y0 = exactly.forward(x);
    expect(maxAbsDiff(x, y0)).toBeLessThan(1e-5);
    const d = maxAbsDiff(x, y);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.05);
    tf.dispose([x, y, y0]);
    context.dispose();
    exactly.dispose();
  });

  it('stacks on any registered model (dilated-context) and on the DilatedNet front-end', () => {
    const wrapped = createModel(
      'dilated-context',
      { model: 'deeplab-v1', modelConfig: { width: 1 / 16, numClasses: 4 } },
      { rng: new Rng(4) },
    );
    wrapped.eval();
    const inner = (wrapped as unknown as { inner: DeepLabV1 }).inner;
    const x = tf.randomUniform([1, 17, 17, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const a = wrapped.forward(x);
    const b = inner.forward(x);
    const rb = tf.relu(b);
    expect(maxAbsDiff(a, rb)).toBeLessThan(1e-5);
    expect(Object.keys(wrapped.stateDict())).toContain('context.ctx_final.weight');
    tf.dispose([x, a, b, rb]);
    wrapped.dispose();

    const net = new DilatedNet(
      { width: 1 / 16, numClasses: 4, alignment: 'same', context: 'basic' },
      new Rng(5),
    );
    net.eval();
    const y = tf.randomUniform([1, 32, 40, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    expect(net.scores(y).shape).toEqual([1, 4, 5, 4]);
    expect(net.forward(y).shape).toEqual([1, 32, 40, 4]);
    tf.dispose(y);
    net.dispose();
  });
});

describe('DilatedNet', () => {
  it('reference alignment: unpadded convs on the 186-pixel reflected input, output stride 8', () => {
    const net = new DilatedNet({ width: 1 / 16, numClasses: 3, context: 'none' }, new Rng(6));
    net.eval();
    const x = tf.randomUniform([1, 20, 27, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const s = net.scores(x);
    // Padded to 24 x 32 (reflection), plus the margin: 396 x 404 -> 3 x 4 scores.
    expect(s.shape).toEqual([1, 3, 4, 3]);
    const logits = net.forward(x);
    expect(logits.shape).toEqual([1, 20, 27, 3]);
    tf.dispose([x, s, logits]);
    net.dispose();
  });

  it('has the front-end names and 7x7 dilation-4 fc6', () => {
    const net = new DilatedNet({ width: 1 / 16, context: 'large' }, new Rng(0));
    const names = Object.keys(net.stateDict());
    expect(names).toContain('fc6.weight');
    expect(names).toContain('final.weight');
    expect(names).toContain('context.ctx_conv5_1.weight');
    expect(names).not.toContain('backbone.pool4');
    expect(net.fc6.dilation[0]).toBe(4);
    expect(net.fc6.weight.shape.slice(0, 2)).toEqual([7, 7]);
    net.dispose();
  });
});
