import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { VGG16 } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function shapes(f: ReturnType<VGG16['forward']>): Record<string, number[]> {
  const out: Record<string, number[]> = { pool3: f.pool3.shape, pool4: f.pool4.shape, pool5: f.pool5.shape };
  if (f.fc7) out.fc7 = f.fc7.shape;
  return out;
}

function disposeFeatures(f: ReturnType<VGG16['forward']>): void {
  tf.dispose([
    f.pool3,
    f.pool4,
    f.pool5,
    ...(f.fc7 ? [f.fc7] : []),
    ...(f.switches ?? []).map((s) => s.switches),
  ]);
}

describe('VGG16 network', () => {
  // The width-1 count of the classic network (134,260,544) is asserted in keras-equivalence.test.ts,
  // which builds that network anyway.
  it('has the DeepLab-LargeFOV parameter count at width 1', () => {
    const fov = new VGG16({ fc: 'largefov', outputStride: 8 }, new Rng(0));
    // 13 convs: 14,714,688; fc6 3*3*512*1024 + 1024 = 4,719,616; fc7 1024*1024 + 1024 = 1,049,600.
    expect(fov.numParameters()).toBe(14_714_688 + 4_719_616 + 1_049_600);
    fov.dispose();
  });

  it('names parameters as the checkpoints and the weight import expect', () => {
    const vgg = new VGG16({ width: 1 / 16, batchNorm: true }, new Rng(0));
    const names = Object.keys(vgg.stateDict());
    expect(names.slice(0, 6)).toEqual([
      'conv1_1.weight',
      'conv1_1.bias',
      'conv1_1_bn.weight',
      'conv1_1_bn.bias',
      'conv1_1_bn.runningMean',
      'conv1_1_bn.runningVar',
    ]);
    expect(names).toContain('fc7_bn.runningVar');
    expect(names.filter((n) => n.endsWith('.weight') && !n.includes('_bn'))).toHaveLength(15);
    vgg.dispose();
  });

  // Ceil-mode 2x2/2 pooling: out = ceil(in / 2). 67x53 -> 34x27 -> 17x14 -> 9x7 -> 5x4 -> 3x2.
  // fc6 7x7 'valid' on 3x2 would be empty, so these use fc6Padding 'same'.
  it.each([
    [32, { pool3: [1, 9, 7, 16], pool4: [1, 5, 4, 32], pool5: [1, 3, 2, 32], fc7: [1, 3, 2, 256] }],
    [16, { pool3: [1, 9, 7, 16], pool4: [1, 5, 4, 32], pool5: [1, 5, 4, 32], fc7: [1, 5, 4, 256] }],
    [8, { pool3: [1, 9, 7, 16], pool4: [1, 9, 7, 32], pool5: [1, 9, 7, 32], fc7: [1, 9, 7, 256] }],
  ] as const)('output stride %i on an odd 67x53 input', (outputStride, expected) => {
    const vgg = new VGG16({ width: 1 / 16, outputStride, fc6Padding: 'same' }, new Rng(1));
    vgg.eval();
    const baseline = tf.memory().numTensors;
    const x = tf.randomUniform([1, 67, 53, 3]) as tf.Tensor4D;
    const f = vgg.forward(x);
    expect(shapes(f)).toEqual(expected);
    disposeFeatures(f);
    x.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    vgg.dispose();
  });

  it('floor-mode pooling and the FCN conv1 padding of 100', () => {
    // conv1_1 pad 100 on 20x20: 218; floor pooling: 109, 54, 27, 13, 6; fc6 7x7 valid: 0? No: 6 - 7 + 1 = 0.
    // Use 40x40: 238 -> 119 -> 59 -> 29 -> 14 -> 7; fc6 valid: 1x1.
    const vgg = new VGG16({ width: 1 / 16, conv1Padding: 100, ceilMode: false }, new Rng(1));
    vgg.eval();
    const x = tf.zeros([2, 40, 40, 3]) as tf.Tensor4D;
    const f = vgg.forward(x);
    expect(shapes(f)).toEqual({
      pool3: [2, 29, 29, 16],
      pool4: [2, 14, 14, 32],
      pool5: [2, 7, 7, 32],
      fc7: [2, 1, 1, 256],
    });
    disposeFeatures(f);
    x.dispose();
    vgg.dispose();
  });

  it("returns every pooling layer's switches and input size on request", () => {
    const vgg = new VGG16({ width: 1 / 16, fc: 'none', batchNorm: true }, new Rng(2));
    vgg.eval();
    const x = tf.randomUniform([1, 33, 45, 3]) as tf.Tensor4D;
    const f = vgg.forward(x, { switches: true });
    expect(f.fc7).toBeUndefined();
    expect(f.switches!.map((s) => s.inputSize)).toEqual([
      [33, 45],
      [17, 23],
      [9, 12],
      [5, 6],
      [3, 3],
    ]);
    expect(f.switches![4]!.switches.shape).toEqual([1, 2, 2, 32]);
    expect(f.switches![0]!.switches.dtype).toBe('int32');
    disposeFeatures(f);
    x.dispose();
    vgg.dispose();
  });

  it('trains: every parameter gets a gradient, and steps leak no tensors', () => {
    const vgg = new VGG16({ width: 1 / 16, fc: 'largefov', outputStride: 8, dropout: 0.5 }, new Rng(3));
    const x = tf.randomUniform([2, 24, 24, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const loss = () => tf.mean(tf.square(vgg.forward(x).fc7!)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, vgg.parameters());
    for (const p of vgg.namedParameters()) {
      const norm = tf.tidy(() => tf.norm(grads[p.variable.name]!).dataSync()[0]!);
      expect(norm, p.name).toBeGreaterThan(0);
    }
    tf.dispose([value, ...Object.values(grads)]);
    const optimizer = tf.train.sgd(0.01);
    let baseline = -1;
    for (let step = 0; step < 3; step++) {
      if (step === 1) baseline = tf.memory().numTensors;
      optimizer.minimize(loss, false, vgg.parameters());
    }
    expect(tf.memory().numTensors).toBe(baseline);
    tf.dispose(x);
    optimizer.dispose();
    vgg.dispose();
  });

  it('rejects bad configs and inputs with clear messages', () => {
    expect(() => new VGG16({ outputStride: 4 as 8 }, new Rng(0))).toThrow(
      /invalid VGG16 config: outputStride/,
    );
    const vgg = new VGG16({ width: 1 / 16 }, new Rng(0));
    const x = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    expect(() => vgg.forward(x)).toThrow('VGG16 expects 3 input channels, got 1');
    x.dispose();
    vgg.dispose();
  });
});
