import { Rng, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DeepLabV1,
  DeepLabV2,
  caffeAveragePool3x3,
  deeplabParameterGroup,
  interp,
  shrinkLabels,
} from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('DeepLab v1 and v2 at width 1', () => {
  it('DeepLab-LargeFOV has 20,505,429 parameters with 21 classes', () => {
    const model = new DeepLabV1({}, new Rng(0));
    // 13 convs: 3*3*(3*64 + 64*64 + 64*128 + 128*128 + 128*256 + 2*256*256 + 256*512 + 2*512*512
    //   + 3*512*512) + biases (2*64 + 2*128 + 3*256 + 6*512) = 14,714,688.
    const convs =
      9 * (3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 2 * 256 * 256 + 256 * 512 + 5 * 512 * 512) +
      (2 * 64 + 2 * 128 + 3 * 256 + 6 * 512);
    expect(convs).toBe(14_714_688);
    const fc6 = 3 * 3 * 512 * 1024 + 1024; // 4,719,616
    const fc7 = 1024 * 1024 + 1024; // 1,049,600
    const fc8 = 1024 * 21 + 21; // 21,525
    expect(model.numParameters()).toBe(convs + fc6 + fc7 + fc8);
    expect(model.numParameters()).toBe(20_505_429);
    model.dispose();
  });

  it('DeepLab v2 ASPP-L on VGG16 has 37,877,652 parameters with 21 classes', () => {
    const model = new DeepLabV2({}, new Rng(0));
    const branch = 3 * 3 * 512 * 1024 + 1024 + (1024 * 1024 + 1024) + (1024 * 21 + 21);
    expect(model.numParameters()).toBe(14_714_688 + 4 * branch);
    expect(model.numParameters()).toBe(37_877_652);
    // The released prototxt's names: fc6_1 .. fc8_4 (fc8_voc12_k in its caffemodel).
    const names = Object.keys(model.stateDict());
    for (const k of [1, 2, 3, 4])
      for (const l of ['fc6', 'fc7', 'fc8']) expect(names).toContain(`${l}_${k}.weight`);
    expect(model.config.rates).toEqual([6, 12, 18, 24]);
    expect(model.config.scales).toEqual([1]);
    model.dispose();
  });
});

describe('output stride 8 and the input-size rules', () => {
  const v1 = new DeepLabV1({ width: 1 / 8, numClasses: 5 }, new Rng(1));
  v1.eval();

  it('scores at output stride 8: (H - 1) / 8 + 1 on 8k+1 inputs', () => {
    const x = tf.randomUniform([1, 33, 41, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const s = v1.scores(x);
    expect(s.shape).toEqual([1, 5, 6, 5]);
    // The logits are Caffe's Interp x8 of those scores, exactly (8 (5 - 1) + 1 = 33).
    const logits = v1.forward(x);
    expect(logits.shape).toEqual([1, 33, 41, 5]);
    const up = interp(s, [33, 41]);
    expect(maxAbsDiff(logits, up)).toBe(0);
    tf.dispose([x, s, logits, up]);
  });

  it('full-resolution logits for odd sizes, padded to 8k+1 (default) or resized', () => {
    const baseline = tf.memory().numTensors;
    const x = tf.randomUniform([2, 35, 27, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const padded = v1.forward(x);
    expect(padded.shape).toEqual([2, 35, 27, 5]);
    // 'pad' runs the 41x33 canvas: its logits are the canvas's logits cropped.
    const canvas = tf.pad(x, [
      [0, 0],
      [0, 6],
      [0, 6],
      [0, 0],
    ]) as tf.Tensor4D;
    const canvasLogits = v1.forward(canvas);
    expect(
      tf.tidy(() => maxAbsDiff(padded, tf.slice(canvasLogits, [0, 0, 0, 0], [-1, 35, 27, -1]))),
    ).toBeLessThan(1e-6);
    const resized = new DeepLabV1({ width: 1 / 8, numClasses: 5, sizeRule: 'resize' }, new Rng(1));
    resized.eval();
    const r = resized.forward(x);
    expect(r.shape).toEqual([2, 35, 27, 5]);
    // Caffe's ceil rule, 3x3 stride 2 pad 1: 35 -> 18 -> 10 -> 6, 27 -> 14 -> 8 -> 5; then resized
    // with aligned corners.
    const s = resized.scores(x);
    expect(s.shape).toEqual([2, 6, 5, 5]);
    expect(tf.tidy(() => maxAbsDiff(r, interp(s, [35, 27])))).toBeLessThan(1e-6);
    tf.dispose([x, padded, canvas, canvasLogits, r, s]);
    resized.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('the two rules agree on 8k+1 inputs', () => {
    const resized = new DeepLabV1({ width: 1 / 8, numClasses: 5, sizeRule: 'resize' }, new Rng(1));
    resized.eval();
    const x = tf.randomUniform([1, 25, 17, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const a = v1.forward(x);
    const b = resized.forward(x);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    tf.dispose([x, a, b]);
    resized.dispose();
  });

  it('trains on labels shrunk to the score map (label_shrink), or at full resolution', () => {
    const x = tf.randomUniform([1, 33, 33, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const labels = tf.tensor3d(
      Int32Array.from({ length: 33 * 33 }, (_, i) => i % 5),
      [1, 33, 33],
      'int32',
    );
    v1.train();
    const [term] = v1.trainingOutputs(x, labels);
    expect(term!.logits.shape).toEqual([1, 5, 5, 5]);
    expect(term!.labels.shape).toEqual([1, 5, 5]);
    // Row i, column j of the shrunk labels is input pixel (8i, 8j).
    const expected = Int32Array.from(
      { length: 25 },
      (_, k) => (Math.floor(k / 5) * 8 * 33 + (k % 5) * 8) % 5,
    );
    expect(Array.from(term!.labels.dataSync())).toEqual(Array.from(expected));
    tf.dispose([term!.logits, term!.labels]);
    const full = new DeepLabV1({ width: 1 / 8, numClasses: 5, lossResolution: 'full' }, new Rng(1));
    const [fullTerm] = full.trainingOutputs(x, labels);
    expect(fullTerm!.logits.shape).toEqual([1, 33, 33, 5]);
    expect(fullTerm!.labels.shape).toEqual([1, 33, 33]);
    tf.dispose([fullTerm!.logits, fullTerm!.labels, x, labels]);
    full.dispose();
    v1.eval();
  });

  it('pads labels with 255 where the input is padded to 8k+1', () => {
    const x = tf.zeros([1, 30, 30, 3]) as tf.Tensor4D;
    const labels = tf.fill([1, 30, 30], 1, 'int32') as tf.Tensor3D;
    const [term] = v1.trainingOutputs(x, labels);
    // Canvas 33x33 -> 5x5 scores; rows and columns 4 sample input 32 (padding): ignored.
    const l = term!.labels.arraySync()[0]!;
    expect(l[0]![0]).toBe(1);
    expect(l[3]![3]).toBe(1);
    expect(l[4]![0]).toBe(255);
    expect(l[0]![4]).toBe(255);
    tf.dispose([x, labels, term!.logits, term!.labels]);
  });
});

describe('Caffe layers', () => {
  it("pool5a divides by 9 everywhere, padding included (Caffe's AVE pooling)", () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const y = caffeAveragePool3x3(x).dataSync();
    // Corner: (1 + 2 + 4 + 5) / 9; centre: 45 / 9; edge: (1+2+3+4+5+6) / 9.
    expect(y[0]).toBeCloseTo(12 / 9, 6);
    expect(y[4]).toBeCloseTo(5, 6);
    expect(y[1]).toBeCloseTo(21 / 9, 6);
    x.dispose();
  });

  it('shrinks 321 labels to 41 by taking every 8th (Interp shrink_factor 8 on 8k+1)', () => {
    const row = Int32Array.from({ length: 321 }, (_, i) => i % 251);
    const labels = tf.tensor3d(
      Int32Array.from({ length: 321 * 321 }, (_, k) => row[k % 321]!),
      [1, 321, 321],
      'int32',
    );
    const shrunk = shrinkLabels(labels, [41, 41]);
    const first = Array.from(shrunk.dataSync().slice(0, 41));
    expect(first).toEqual(Array.from({ length: 41 }, (_, i) => (8 * i) % 251));
    tf.dispose([labels, shrunk]);
  });

  it('registers deeplab-v1 with the paper-preset CRF, groups and Caffe names', () => {
    const def = getModelDefinition('deeplab-v1');
    expect(def.crfPreset).toBe('deeplabV1');
    expect(def.parameterGroup).toBe(deeplabParameterGroup);
    expect(deeplabParameterGroup('backbone.conv1_1.weight')).toEqual({ lrMultiplier: 1, decayMultiplier: 1 });
    expect(deeplabParameterGroup('fc7.bias')).toEqual({ lrMultiplier: 2, decayMultiplier: 0 });
    expect(deeplabParameterGroup('fc8.weight')).toEqual({ lrMultiplier: 10, decayMultiplier: 1 });
    expect(deeplabParameterGroup('fc8.bias')).toEqual({ lrMultiplier: 20, decayMultiplier: 0 });
    const [map] = def.weightMaps!(def.configSchema.parse({}));
    expect(map!.format).toBe('caffe');
    expect(map!.source('backbone.conv5_3.weight')).toEqual({ key: 'conv5_3/0', layout: 'conv' });
    expect(map!.source('fc8.bias')).toEqual({ key: 'fc8_voc12/1', layout: 'same' });
    expect(map!.normalization.mean).toEqual([122.675, 116.669, 104.008]);
    const v2 = getModelDefinition('deeplab-v2');
    expect(v2.parameterGroup).toBe(deeplabParameterGroup);
    expect(deeplabParameterGroup('fc8_3.bias')).toEqual({ lrMultiplier: 20, decayMultiplier: 0 });
    const [v2map] = v2.weightMaps!(v2.configSchema.parse({}));
    expect(v2map!.source('fc8_4.weight')).toEqual({ key: 'fc8_voc12_4/0', layout: 'conv' });
    expect(v2map!.source('fc6_2.bias')).toEqual({ key: 'fc6_2/1', layout: 'same' });
  });
});
