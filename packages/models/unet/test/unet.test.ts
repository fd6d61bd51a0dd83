import { Rng, createModel, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet, unetGeometry } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('U-Net geometry', () => {
  it('valid: the paper tile 572 gives 388 (margin 184, native sizes 188 + 16k); same: margin 0', () => {
    const g = unetGeometry('valid', 4);
    expect(g).toEqual({ padding: 'valid', depth: 4, period: 16, margin: 184, smallestNative: 188 });
    expect((572 - 188) % 16).toBe(0);
    expect(unetGeometry('same', 4).margin).toBe(0);
    // Depth 2: 4 + 4 lost at the top on each path, 4 at the middle, twice at half resolution: 40.
    expect(unetGeometry('valid', 2).margin).toBe(40);
  });

  it.each([
    ['valid', 572, 572, 388, 388],
    ['valid', 573, 575, 389, 391],
    ['valid', 189, 201, 5, 17],
    ['same', 101, 67, 101, 67],
    ['same', 17, 33, 17, 33],
    ['same', 1, 5, 1, 5],
  ] as const)('%s padding: %ix%i -> %ix%i, and outputSize says so', (padding, h, w, oh, ow) => {
    const model = new UNet({ padding, width: 1 / 32, numClasses: 3, dropout: 0 }, new Rng(1));
    model.eval();
    expect(model.outputSize([h, w])).toEqual([oh, ow]);
    const before = tf.memory().numTensors;
    const x = tf.randomUniform([1, h, w, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const y = model.forward(x);
    expect(y.shape).toEqual([1, oh, ow, 3]);
    expect(Number.isFinite(tf.tidy(() => tf.sum(y).dataSync()[0]!))).toBe(true);
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('valid: too small an input is a clear error', () => {
    const model = new UNet({ width: 1 / 32 }, new Rng(1));
    expect(() => model.outputSize([184, 300])).toThrow(/larger than 184 pixels/);
    model.dispose();
  });

  it('valid outputs stay aligned: output pixel i is input pixel i + 92 whatever the input size', () => {
    const model = new UNet({ width: 1 / 32, numClasses: 2, dropout: 0 }, new Rng(2));
    model.eval();
    const big = tf.randomUniform([1, 221, 230, 3], -1, 1, 'float32', 5) as tf.Tensor4D; // not native
    const full = model.forward(big); // 37 x 46
    // A native window (204 = 188 + 16) at a multiple of the period: its output is the same window
    // of the full output (pooling windows fall on the same pixels).
    const window = tf.slice(big, [0, 16, 0, 0], [1, 204, 204, 3]) as tf.Tensor4D;
    const part = model.forward(window); // 20 x 20
    expect(part.shape).toEqual([1, 20, 20, 2]);
    const same = tf.slice(full, [0, 16, 0, 0], [1, 20, 20, 2]);
    expect(maxAbsDiff(part, same)).toBeLessThan(1e-4);
    tf.dispose([big, full, window, part, same]);
    model.dispose();
  });

  it('same padding: an odd size runs on its mirror completion to a multiple of 16, cropped back in place', () => {
    const model = new UNet({ padding: 'same', width: 1 / 32, numClasses: 2, dropout: 0 }, new Rng(3));
    model.eval();
    const x = tf.randomUniform([1, 40, 37, 3], -1, 1, 'float32', 6) as tf.Tensor4D;
    const y = model.forward(x);
    expect(y.shape).toEqual([1, 40, 37, 2]);
    // The completion by hand: rows 40..47 mirror rows 38..31, columns 37..47 mirror 35..25.
    const rows = Array.from({ length: 48 }, (_, i) => (i < 40 ? i : 78 - i));
    const cols = Array.from({ length: 48 }, (_, i) => (i < 37 ? i : 72 - i));
    const completed = tf.gather(tf.gather(x, rows, 1), cols, 2) as tf.Tensor4D;
    const yCompleted = model.forward(completed);
    const cropped = tf.slice(yCompleted, [0, 0, 0, 0], [1, 40, 37, 2]);
    expect(maxAbsDiff(y, cropped)).toBeLessThan(1e-5);
    tf.dispose([x, y, completed, yCompleted, cropped]);
    model.dispose();
  });

  it('trainingOutputs crops the labels to the valid output window', () => {
    const model = new UNet({ depth: 2, width: 1 / 16, numClasses: 2, dropout: 0 }, new Rng(4));
    const g = model.geometry;
    expect(g.margin).toBe(40);
    const size = g.smallestNative + 4 * g.period; // 44 + 16 = 60 -> output 20
    const x = tf.randomUniform([1, size, size, 3]) as tf.Tensor4D;
    const labelValues = new Int32Array(size * size).map((_, i) => (i % size) % 2);
    const labels = tf.tensor3d(labelValues, [1, size, size], 'int32');
    const [out] = model.trainingOutputs(x, labels);
    expect(out!.logits.shape).toEqual([1, size - 40, size - 40, 2]);
    expect(out!.labels.shape).toEqual([1, size - 40, size - 40]);
    // Column j of the output is input column j + 20.
    const row = out!.labels.arraySync()[0]![0]!;
    expect(row.slice(0, 4)).toEqual([0, 1, 0, 1].map((v) => (v + 20) % 2));
    const weights = tf.tensor3d(
      Float32Array.from(labelValues, (v, i) => v + Math.floor(i / size)),
      [1, size, size],
    );
    const [weighted] = model.trainingOutputs(x, labels, weights);
    // Row 0 of the cropped weights is input row 20: label + 20.
    expect(weighted!.pixelWeights!.shape).toEqual([1, size - 40, size - 40]);
    expect(weighted!.pixelWeights!.arraySync()[0]![0]!.slice(0, 2)).toEqual([20, 21]);
    tf.dispose([
      x,
      labels,
      weights,
      out!.logits,
      out!.labels,
      weighted!.logits,
      weighted!.labels,
      weighted!.pixelWeights!,
    ]);
    model.dispose();
  });
});

describe('U-Net registration and size', () => {
  it('registers unet with the paper defaults', () => {
    const def = getModelDefinition('unet');
    const config = def.configSchema.parse({});
    expect(config).toMatchObject({ numClasses: 2, padding: 'valid', depth: 4, baseChannels: 64, width: 1 });
    const model = createModel('unet', { width: 1 / 64, padding: 'same' }, { rng: new Rng(0) });
    expect(model.numClasses).toBe(2);
    model.dispose();
  });

  it('has 31,030,658 parameters at width 1 (1 grey channel in, 2 classes, as the paper)', () => {
    // By hand, (3x3 x in + 1) x out per conv, (2x2 x in + 1) x out per up-convolution:
    // down1 1->64: 640 + 36,928; down2: 73,856 + 147,584; down3: 295,168 + 590,080;
    // down4: 1,180,160 + 2,359,808; bottom 512->1024: 4,719,616 + 9,438,208  (= 18,842,048)
    // up4: 2,097,664 (up-conv 1024->512) + 4,719,104 + 2,359,808; up3: 524,544 + 1,179,904 + 590,080;
    // up2: 131,200 + 295,040 + 147,584; up1: 32,832 + 73,792 + 36,928  (= 12,188,480); head 64->2: 130.
    const model = new UNet({ inChannels: 1 }, new Rng(0));
    expect(model.numParameters()).toBe(31_030_658);
    const names = model.namedParameters().map((p) => p.name);
    expect(names.slice(0, 4)).toEqual([
      'down1.conv1.weight',
      'down1.conv1.bias',
      'down1.conv2.weight',
      'down1.conv2.bias',
    ]);
    expect(names).toContain('up4.up.weight');
    expect(names).toContain('up1.block.conv2.bias');
    expect(names.at(-1)).toBe('head.bias');
    model.dispose();
  });

  it('with batch norm the 3x3 convolutions have no bias and each gains a BatchNorm2d', () => {
    const model = new UNet({ width: 1 / 16, batchNorm: true, padding: 'same' }, new Rng(0));
    const names = model.namedParameters().map((p) => p.name);
    expect(names).not.toContain('down1.conv1.bias');
    expect(names).toContain('down1.bn1.weight');
    expect(names).toContain('up1.block.bn2.bias');
    model.dispose();
  });
});
