import { InputError, Module, Rng, type SegmentationModel } from '@semseg/core';
import { Conv2d, ConvTranspose2d, MaxPool2d, heNormal } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizedTensor, predictImage } from '../src/index.js';
import { overlapTileLogits, shrinksInput } from '../src/inference/overlap-tile.js';
import { PLAIN, randomImage } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DEPTH = 3;

/** Map sizes of the test network for an input length; null where a pooled map would be odd. */
function validOutput(input: number): number | null {
  let a = input;
  for (let l = 0; l < DEPTH; l++) {
    a -= 2;
    if (a <= 0 || a % 2 !== 0) return null;
    a /= 2;
  }
  a -= 2;
  for (let l = 0; l < DEPTH; l++) a = 2 * a - 2;
  return a > 0 ? a : null;
}

/**
 * A small valid-padded U-Net (one 3x3 valid conv per step, 3 poolings, centre-cropped skips):
 * margin 44, native inputs 46 + 8k, outputs 2 + 8k, so tiles of 78 give 34 (not a multiple of 8).
 * It refuses other sizes, so the engine must only feed native tiles here.
 */
class TinyValidUNet extends Module implements SegmentationModel {
  readonly numClasses = 3;
  private readonly downs: Conv2d[] = [];
  private readonly bottom: Conv2d;
  private readonly ups: Array<[ConvTranspose2d, Conv2d]> = [];
  private readonly head: Conv2d;
  private readonly pool = new MaxPool2d({ kernelSize: 2 });

  constructor(rng: Rng) {
    super();
    const c = 4;
    for (let l = 0; l < DEPTH; l++)
      this.downs.push(
        this.registerModule(
          `down${l}`,
          new Conv2d({
            inChannels: l === 0 ? 3 : c,
            outChannels: c,
            kernelSize: 3,
            rng,
            weightInit: heNormal(),
          }),
        ),
      );
    this.bottom = this.registerModule(
      'bottom',
      new Conv2d({ inChannels: c, outChannels: c, kernelSize: 3, rng, weightInit: heNormal() }),
    );
    for (let l = 0; l < DEPTH; l++)
      this.ups.push([
        this.registerModule(
          `up${l}`,
          new ConvTranspose2d({
            inChannels: c,
            outChannels: c,
            kernelSize: 2,
            stride: 2,
            rng,
            weightInit: heNormal(),
          }),
        ),
        this.registerModule(
          `conv${l}`,
          new Conv2d({ inChannels: 2 * c, outChannels: c, kernelSize: 3, rng, weightInit: heNormal() }),
        ),
      ]);
    this.head = this.registerModule(
      'head',
      new Conv2d({ inChannels: c, outChannels: 3, kernelSize: 1, rng, weightInit: heNormal() }),
    );
  }

  outputSize(inputSize: [number, number]): [number, number] {
    return [inputSize[0] - 44, inputSize[1] - 44];
  }

  forward(images: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = images.shape;
    if (validOutput(h) === null || validOutput(w) === null)
      throw new InputError(`TinyValidUNet takes 46 + 8k pixels a side, got ${h}x${w}`);
    return tf.tidy(() => {
      const skips: tf.Tensor4D[] = [];
      let x = images;
      for (const conv of this.downs) {
        const f = tf.relu(conv.forward(x));
        skips.push(f);
        x = this.pool.forward(f);
      }
      x = tf.relu(this.bottom.forward(x));
      this.ups.forEach(([up, conv], i) => {
        const u = up.forward(x);
        const skip = skips[DEPTH - 1 - i]!;
        const top = (skip.shape[1] - u.shape[1]) / 2;
        const left = (skip.shape[2] - u.shape[2]) / 2;
        const cropped = tf.slice(skip, [0, top, left, 0], [-1, u.shape[1], u.shape[2], -1]);
        x = tf.relu(conv.forward(tf.concat([cropped, u], 3) as tf.Tensor4D));
      });
      return this.head.forward(x);
    });
  }
}

/** The image mirrored (edge not repeated) by `before` pixels and up to `length`, by hand. */
function mirrored(x: tf.Tensor4D, before: number, rows: number, cols: number): tf.Tensor4D {
  const reflect = (j: number, n: number) => {
    let k = j;
    // Reflect at 0 and at n - 1 until inside.
    while (k < 0 || k >= n) k = k < 0 ? -k : 2 * (n - 1) - k;
    return k;
  };
  const [, h, w] = x.shape;
  const r = Array.from({ length: rows }, (_, i) => reflect(i - before, h));
  const c = Array.from({ length: cols }, (_, i) => reflect(i - before, w));
  return tf.gather(tf.gather(x, r, 1), c, 2) as tf.Tensor4D;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('overlap-tile inference', () => {
  it('on an image larger than one tile equals the untiled pass over the mirrored image, and leaks nothing', () => {
    const model = new TinyValidUNet(new Rng(1));
    expect(shrinksInput(model)).toBe(true);
    const x = tf.randomUniform([1, 100, 90, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    // Tiles of 78 -> 34, cut to 32 (alignment): rows start at 0, 32, 64, 96 (padded 174), columns
    // at 0, 32, 64 (padded 142): both native, so the whole padded image runs in one pass too.
    const tiled = overlapTileLogits(model, x, { tile: [78, 78], batchSize: 5 });
    expect(tiled.shape).toEqual([1, 100, 90, 3]);
    expect(tf.memory().numTensors).toBe(before + 1);
    const padded = mirrored(x, 22, 174, 142);
    const whole = model.forward(padded);
    const untiled = tf.slice(whole, [0, 0, 0, 0], [1, 100, 90, 3]);
    expect(maxAbsDiff(tiled, untiled)).toBeLessThan(1e-5);
    // Tiles placed every 34 pixels (alignment 1) put pooling windows elsewhere: the values differ,
    // which is what the alignment is for.
    const unaligned = overlapTileLogits(model, x, { tile: [78, 78], alignment: 1 });
    expect(maxAbsDiff(unaligned, untiled)).toBeGreaterThan(1e-3);
    tf.dispose([x, tiled, padded, whole, untiled, unaligned]);
    model.dispose();
  });

  it('mirrors repeatedly where the context is larger than the image (10 x 18, 22 pixels each side)', () => {
    const model = new TinyValidUNet(new Rng(5));
    const x = tf.randomUniform([1, 10, 18, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const tiled = overlapTileLogits(model, x);
    const whole = model.forward(mirrored(x, 22, 54, 62));
    expect(tiled.shape).toEqual([1, 10, 18, 3]);
    expect(maxAbsDiff(tiled, whole)).toBeLessThan(1e-5);
    tf.dispose([x, tiled, whole]);
    model.dispose();
  });

  it('predictImage routes a valid-padded model through it: full-size maps, whole equals slide', () => {
    const model = new TinyValidUNet(new Rng(3));
    model.eval();
    // 58 x 50: one whole tile of 102 x 94 (native), or tiles of 78 in slide mode.
    const image = randomImage(50, 58, new Rng(4));
    const whole = predictImage(model, image, { normalization: PLAIN });
    expect(whole.labels.length).toBe(58 * 50);
    const slide = predictImage(model, image, { normalization: PLAIN, mode: 'slide', crop: [78, 78] });
    let diff = 0;
    for (let i = 0; i < whole.probabilities.length; i++)
      diff = Math.max(diff, Math.abs(whole.probabilities[i]! - slide.probabilities[i]!));
    expect(diff).toBeLessThan(1e-5);
    const x = normalizedTensor(image, PLAIN);
    const reference = tf.tidy(() => tf.softmax(model.forward(mirrored(x, 22, 102, 94))).dataSync());
    let refDiff = 0;
    for (let i = 0; i < reference.length; i++)
      refDiff = Math.max(refDiff, Math.abs(reference[i]! - whole.probabilities[i]!));
    expect(refDiff).toBeLessThan(1e-5);
    x.dispose();
    model.dispose();
  });
});
