import { InputError, Module, Rng, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  aggregateProposals,
  boxesFromLabels,
  parseProposalBoxes,
  predictImageAsync,
  predictWithProposals,
} from '../src/index.js';
import { PLAIN, PixelModel, randomImage } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function softmax(v: number[]): number[] {
  const top = Math.max(...v);
  const e = v.map((x) => Math.exp(x - top));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe('proposal aggregation', () => {
  it('takes the per-class maximum over two overlapping boxes, then a softmax; the whole image elsewhere', () => {
    // A 5 x 4 image, 2 classes. Box A: columns 0..2, rows 0..1; box B: columns 2..3, rows 1..2.
    // They overlap at (x 2, y 1). Row 3 and column 4 are outside both.
    const width = 5;
    const height = 4;
    const whole = new Float32Array(width * height * 2);
    for (let p = 0; p < width * height; p++) {
      whole[p * 2] = 0.25;
      whole[p * 2 + 1] = 0.75;
    }
    const a = { box: { x0: 0, y0: 0, x1: 3, y1: 2 }, logits: new Float32Array(3 * 2 * 2) };
    for (let i = 0; i < 6; i++) a.logits.set([2 + i, -1], i * 2); // class 0 strong, rising along A
    const b = { box: { x0: 2, y0: 1, x1: 4, y1: 3 }, logits: new Float32Array(2 * 2 * 2) };
    for (let i = 0; i < 4; i++) b.logits.set([0.5, 3 - i], i * 2);
    const out = aggregateProposals(whole, [a, b], width, height, 2);
    const at = (x: number, y: number) =>
      Array.from(out.subarray((y * width + x) * 2, (y * width + x) * 2 + 2));
    // Only A: (0, 0) is A's first cell.
    expect(at(0, 0)[0]).toBeCloseTo(softmax([2, -1])[0]!, 6);
    // Only B: (3, 2) is B's last cell [0.5, 0].
    expect(at(3, 2)[0]).toBeCloseTo(softmax([0.5, 0])[0]!, 6);
    // Both: (2, 1) is A's cell 5 [7, -1] and B's cell 0 [0.5, 3]: the maxima [7, 3].
    expect(at(2, 1)[0]).toBeCloseTo(softmax([7, 3])[0]!, 6);
    expect(at(2, 1)[1]).toBeCloseTo(softmax([7, 3])[1]!, 6);
    // Neither: the whole-image probabilities, untouched.
    expect(at(4, 0)).toEqual([0.25, 0.75]);
    expect(at(1, 3)).toEqual([0.25, 0.75]);
    expect(at(0, 2)).toEqual([0.25, 0.75]);
  });

  it('finds boxes of connected components per class, largest first, small ones dropped', () => {
    // 6 x 4: class 1 in an L (5 pixels), class 2 in one pixel, class 1 again apart (2 pixels).
    // biome-ignore format: the label map reads as a picture
    const labels = Uint8Array.from([
      1, 0, 0, 0, 0, 2,
      1, 0, 0, 0, 0, 0,
      1, 1, 1, 0, 1, 0,
      0, 0, 0, 0, 1, 255,
    ]);
    expect(boxesFromLabels(labels, 6, 4, { minArea: 1 })).toEqual([
      { x0: 0, y0: 0, x1: 3, y1: 3 },
      { x0: 4, y0: 2, x1: 5, y1: 4 },
      { x0: 5, y0: 0, x1: 6, y1: 1 },
    ]);
    expect(boxesFromLabels(labels, 6, 4, { minArea: 3 })).toEqual([{ x0: 0, y0: 0, x1: 3, y1: 3 }]);
  });

  it('parses a boxes file and names the file and the box at fault', () => {
    const boxes = parseProposalBoxes({ 'a.jpg': [[0, 1, 5, 6]], b: [] }, 'boxes.json');
    expect(boxes.get('a.jpg')).toEqual([{ x0: 0, y0: 1, x1: 5, y1: 6 }]);
    expect(() => parseProposalBoxes([], 'boxes.json')).toThrow(InputError);
    expect(() => parseProposalBoxes({ a: [[0, 0, 1]] }, 'boxes.json')).toThrow(
      /boxes.json: box 0 of "a" must be four integers/,
    );
    expect(() => parseProposalBoxes({ a: [[3, 0, 1, 4]] }, 'boxes.json')).toThrow(/is empty/);
  });
});

/** Logits constant over the input: each class scores the input's mean of one colour channel. */
class MeanColourModel extends Module implements SegmentationModel {
  readonly numClasses = 3;
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.mul(tf.onesLike(x), tf.mean(x, [1, 2], true)) as tf.Tensor4D);
  }
}

describe('proposal-wise inference', () => {
  it('segments each box on its own and keeps the whole-image prediction where no box reaches', async () => {
    const image = randomImage(20, 16, new Rng(3));
    // A red square at columns 2..7, rows 3..8: in its own crop the red mean wins.
    for (let y = 3; y < 9; y++) for (let x = 2; x < 8; x++) image.data.set([250, 0, 0], (y * 20 + x) * 3);
    const model = new MeanColourModel();
    const baseline = tf.memory().numTensors;
    const whole = await predictImageAsync(model, image, { normalization: PLAIN });
    const box = { x0: 2, y0: 3, x1: 8, y1: 9 };
    const result = await predictWithProposals(
      model,
      image,
      { normalization: PLAIN },
      { boxes: [box], margin: 0, inputSize: [12, 12] },
    );
    expect(tf.memory().numTensors).toBe(baseline);
    expect(result.boxes).toEqual([box]);
    const probs = softmax([250, 0, 0]);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 20; x++) {
        const p = y * 20 + x;
        const inside = x >= 2 && x < 8 && y >= 3 && y < 9;
        const got = Array.from(result.probabilities.subarray(p * 3, p * 3 + 3));
        const want = inside ? probs : Array.from(whole.probabilities.subarray(p * 3, p * 3 + 3));
        got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
        if (inside) expect(result.labels[p]).toBe(0);
      }
    }
    model.dispose();
  });

  it("'auto' takes the boxes of the whole-image prediction's components, grown by the margin", async () => {
    const model = new PixelModel(3, new Rng(5));
    const image = randomImage(24, 18, new Rng(6));
    const whole = await predictImageAsync(model, image, { normalization: PLAIN });
    const result = await predictWithProposals(
      model,
      image,
      { normalization: PLAIN },
      { boxes: 'auto', minArea: 4, margin: 0, background: 99 },
    );
    expect(result.boxes.length).toBeGreaterThan(0);
    expect(result.boxes).toEqual(boxesFromLabels(whole.labels, 24, 18, { minArea: 4, background: 99 }));
    expect(result.probabilities.length).toBe(24 * 18 * 3);
    model.dispose();
  });

  it('refuses a box outside the image', async () => {
    const model = new PixelModel(2, new Rng(1));
    const image = randomImage(8, 8, new Rng(1));
    await expect(
      predictWithProposals(
        model,
        image,
        { normalization: PLAIN },
        { boxes: [{ x0: 0, y0: 0, x1: 9, y1: 4 }] },
      ),
    ).rejects.toThrow(/proposal 0: box \[0, 0, 9, 4\] is not a non-empty box inside the 8x8 image/);
    model.dispose();
  });
});
