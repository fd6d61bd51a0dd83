import { Rng, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeepLabV2, deeplabParameterGroup } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DeepLab v2 on ResNet-101', () => {
  it('has ResNet-101 (no fc) plus four 3x3 ASPP convs: 44,048,532 parameters with 21 classes', () => {
    const model = new DeepLabV2({ backbone: 'resnet101' }, new Rng(0));
    // torchvision's resnet101: 44,549,160 with its 2048 x 1000 fc (2,049,000).
    const aspp = 4 * (3 * 3 * 2048 * 21 + 21);
    expect(model.numParameters()).toBe(44_549_160 - 2_049_000 + aspp);
    expect(model.config.scales).toEqual([1, 0.75, 0.5]);
    expect(model.normalization.channelOrder).toBe('rgb');
    const names = Object.keys(model.stateDict());
    expect(names).toContain('backbone.layer4.2.conv3.weight');
    expect(names).toContain('fc1_c3.bias');
    model.dispose();
  });

  it('runs at output stride 8 with multi-scale inputs, its ASPP the sum of its convs', () => {
    const model = new DeepLabV2({ backbone: 'resnet101', width: 1 / 16, numClasses: 3 }, new Rng(1));
    model.eval();
    const x = tf.randomUniform([1, 33, 25, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const baseline = tf.memory().numTensors;
    const scores = model.scores(x);
    expect(scores.shape).toEqual([1, 5, 4, 3]);
    const branches = model.branchScores(x);
    const sum = tf.addN(branches);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(sum, scores))).dataSync()[0]!)).toBeLessThan(1e-5);
    expect(model.asppConvs.map((c) => c.dilation[0])).toEqual([6, 12, 18, 24]);
    const logits = model.forward(x);
    expect(logits.shape).toEqual([1, 33, 25, 3]);
    model.train();
    const labels = tf.zeros([1, 33, 25], 'int32') as tf.Tensor3D;
    const terms = model.trainingOutputs(x, labels);
    expect(terms).toHaveLength(4);
    tf.dispose([scores, ...branches, sum, logits, labels, ...terms.flatMap((t) => [t.logits, t.labels])]);
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
    model.dispose();
  });

  it('trains its ASPP at x10 / x20 and keeps batch norm frozen', () => {
    expect(deeplabParameterGroup('fc1_c0.weight')).toEqual({ lrMultiplier: 10, decayMultiplier: 1 });
    expect(deeplabParameterGroup('fc1_c2.bias')).toEqual({ lrMultiplier: 20, decayMultiplier: 0 });
    const model = new DeepLabV2({ backbone: 'resnet101', width: 1 / 16 }, new Rng(2));
    const trainable = model
      .namedParameters()
      .filter((p) => p.trainable)
      .map((p) => p.name);
    expect(trainable.some((n) => n.includes('bn'))).toBe(false);
    expect(trainable).toContain('backbone.conv1.weight');
    expect(getModelDefinition('deeplab-v2').weightMaps!(model.config)).toEqual([]);
    model.dispose();
  });
});
