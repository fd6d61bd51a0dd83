import { Rng, createModel, getModelDefinition, listTrainPresets } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeconvNet, SegNet, caffeLrn, seedDeconvNetMap } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DeconvNet', () => {
  it('has 251,805,653 parameters at width 1 with 21 classes (the paper: about 252M)', () => {
    const model = new DeconvNet({}, new Rng(0));
    // Encoder convs (weight + bias), VGG16's 13: 14,714,688; their BN (scale + shift):
    //   2 * (64*2 + 128*2 + 256*3 + 512*6) = 8,448.
    // fc6 7*7*512*4096 + 4096 = 102,764,544, BN 8,192; fc7 4096*4096 + 4096 = 16,781,312, BN 8,192.
    //   Encoder: 134,285,376.
    // fc6_deconv 7*7*4096*512 + 512 = 102,760,960, BN 1,024.
    // deconv5_1..5_3 and deconv4_1, 4_2: 9*512*512 + 512 = 2,359,808 each (5: 11,799,040), BN 1,024 each.
    // deconv4_3 9*512*256 + 256 = 1,179,904, BN 512. deconv3_1, 3_2: 9*256*256 + 256 = 590,080 each, BN 512.
    // deconv3_3 9*256*128 + 128 = 295,040, BN 256. deconv2_1 9*128*128 + 128 = 147,584, BN 256.
    // deconv2_2 9*128*64 + 64 = 73,792, BN 128. deconv1_1, 1_2: 9*64*64 + 64 = 36,928 each, BN 128 each.
    // score 64*21 + 21 = 1,365. Decoder: 117,520,277. Total 251,805,653.
    expect(model.numParameters()).toBe(251_805_653);
    model.dispose();
  });

  it('mirrors the encoder: every unpooling output has its pooling input shape, odd sizes included', () => {
    const model = new DeconvNet({ width: 1 / 16, numClasses: 3, fc6Padding: 'same' }, new Rng(1));
    model.eval();
    for (const [h, w] of [
      [64, 64],
      [37, 50],
      [45, 33],
    ] as const) {
      const x = tf.randomNormal([1, h, w, 3]) as tf.Tensor4D;
      const trace = model.trace(x);
      expect(trace.prePool.map((s) => s.join('x'))).toEqual(
        [...trace.unpooled].reverse().map((s) => s.join('x')),
      );
      expect(trace.prePool[0]).toEqual([h, w, 4]);
      const y = model.forward(x);
      expect(y.shape).toEqual([1, h, w, 3]);
      tf.dispose([x, y]);
    }
    model.dispose();
  });

  it("takes 224x224 with fc6 'valid' (fc6 1x1) and explains what is too small", () => {
    const model = new DeconvNet({ width: 1 / 32, numClasses: 2 }, new Rng(2));
    model.eval();
    const x = tf.randomNormal([1, 224, 224, 3]) as tf.Tensor4D;
    const baseline = tf.memory().numTensors;
    const y = model.forward(x);
    expect(y.shape).toEqual([1, 224, 224, 2]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    const small = tf.zeros([1, 160, 160, 3]) as tf.Tensor4D;
    expect(() => model.forward(small)).toThrow(/at least 193x193.*fc6Padding 'same'/);
    tf.dispose([x, small]);
    model.dispose();
  });

  it('maps every parameter and buffer to a seed state_dict key with its layout', () => {
    const model = new DeconvNet({ width: 1 / 32 }, new Rng(3));
    const map = seedDeconvNetMap();
    const keys = new Set<string>();
    for (const { name } of model.namedEntries()) {
      const source = map.source(name);
      expect(source, name).not.toBeNull();
      keys.add(source!.key);
    }
    expect(keys.size).toBe(model.namedEntries().length);
    expect(map.source('backbone.conv1_1.weight')).toEqual({ key: 'conv1_1.0.weight', layout: 'conv' });
    expect(map.source('backbone.fc6_bn.runningVar')).toEqual({ key: 'fc6_1.1.running_var', layout: 'same' });
    expect(map.source('decoder.deconv4_3.weight')).toEqual({
      key: 'D_conv4_3.0.weight',
      layout: 'conv-transpose',
    });
    expect(map.ignore?.('D_conv1_2.1.num_batches_tracked')).toBe(true);
    // One num_batches_tracked per BatchNorm2d: 13 + 2 in the encoder, 1 + 13 in the decoder.
    expect(map.exportExtras?.().length).toBe(29);
    model.dispose();
  });
});

describe('SegNet', () => {
  it('has 29,455,125 parameters at width 1 with 21 classes (the paper: about 29.5M)', () => {
    const model = new SegNet({}, new Rng(0));
    // Encoder: VGG16's 13 convs 14,714,688 + BN 8,448.
    // Decoder convs: block 5 3 * 2,359,808; block 4 2 * 2,359,808 + 1,179,904; block 3 2 * 590,080 +
    //   295,040; block 2 147,584 + 73,792; conv1_2_D 36,928; conv1_1_D 9*64*21 + 21 = 12,117:
    //   14,724,565. Decoder BN (all but conv1_1_D): 2 * (512*5 + 256*2 + 256 + 128*2 + 64 + 64) = 7,424.
    // Total 29,455,125.
    expect(model.numParameters()).toBe(29_455_125);
    model.dispose();
  });

  it('SegNet-Basic: 4 levels of 7x7 64-channel convs, shapes mirrored for odd sizes', () => {
    const model = new SegNet({ variant: 'basic', numClasses: 11 }, new Rng(1));
    // Encoder 3*64*49 + 64 + 3 * (64*64*49 + 64) = 611,776; 8 BN layers * 128 = 1,024;
    // decoder 4 * (64*64*49 + 64) = 803,072; classifier 64*11 + 11 = 715. Total 1,416,587.
    expect(model.numParameters()).toBe(1_416_587);
    model.eval();
    const x = tf.randomNormal([1, 45, 30, 3]) as tf.Tensor4D;
    const trace = model.trace(x);
    expect(trace.prePool).toEqual([
      [45, 30, 64],
      [23, 15, 64],
      [12, 8, 64],
      [6, 4, 64],
    ]);
    expect([...trace.unpooled].reverse()).toEqual(trace.prePool);
    const y = model.forward(x);
    expect(y.shape).toEqual([1, 45, 30, 11]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('VGG16 SegNet mirrors the encoder on odd sizes', () => {
    const model = new SegNet({ width: 1 / 16, numClasses: 4 }, new Rng(2));
    model.eval();
    const x = tf.randomNormal([2, 35, 41, 3]) as tf.Tensor4D;
    const trace = model.trace(x);
    expect([...trace.unpooled].reverse()).toEqual(trace.prePool);
    const y = model.forward(x);
    expect(y.shape).toEqual([2, 35, 41, 4]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it("Caffe's LRN equals x / (1 + alpha/5 * window sum of squares)^0.75, computed by hand", () => {
    const values = [1, -2, 3, 0.5, 4];
    const x = tf.tensor4d(values, [1, 1, 1, 5]);
    const y = caffeLrn(x).dataSync();
    values.forEach((v, c) => {
      let sum = 0;
      for (let k = Math.max(0, c - 2); k <= Math.min(4, c + 2); k++) sum += values[k]! ** 2;
      expect(y[c]).toBeCloseTo(v / (1 + (1e-4 / 5) * sum) ** 0.75, 6);
    });
    x.dispose();
  });
});

describe('registry', () => {
  it('registers deconvnet and segnet with the CRF preset, weight maps and the two-stage presets', () => {
    const definition = getModelDefinition('deconvnet');
    expect(definition.crfPreset).toBe('deconvNet');
    expect(definition.weightMaps?.({}).map((m) => m.format)).toEqual(['pytorch']);
    const model = createModel(
      'segnet',
      { variant: 'basic', width: 1 / 8, numClasses: 3 },
      { rng: new Rng(0) },
    );
    expect(model.numClasses).toBe(3);
    model.dispose();
    const presets = listTrainPresets().filter((p) => p.model === 'deconvnet');
    const stage1 = presets.find((p) => p.name === 'deconvnet-voc-stage1');
    const stage2 = presets.find((p) => p.name === 'deconvnet-voc-stage2');
    expect(stage1?.sampler).toBe('object-centred');
    expect(stage2?.initFrom).toBe('deconvnet-voc-stage1');
    expect(stage2?.sampler).toBe('random-crop');
    expect(stage1?.source).toMatch(/Noh/);
  });
});
