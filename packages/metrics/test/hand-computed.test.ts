import { describe, expect, it } from 'vitest';
import { ConfusionMatrix } from '../src/index.js';

const u8 = (values: number[]) => Uint8Array.from(values);

describe('ConfusionMatrix on hand-computed cases', () => {
  // n = 3, two ignore pixels (the last two targets).
  //   target 0 0 1 1 1 2 2 255 255
  //   pred   0 1 1 1 2 2 2   0   2
  // counts (rows target, columns prediction): [[1,1,0],[0,2,1],[0,0,2]]
  const target = u8([0, 0, 1, 1, 1, 2, 2, 255, 255]);
  const pred = u8([0, 1, 1, 1, 2, 2, 2, 0, 2]);

  it('counts the matrix and skips ignore pixels', () => {
    const matrix = new ConfusionMatrix(3).update(pred, target);
    expect(Array.from(matrix.getCounts())).toEqual([1, 1, 0, 0, 2, 1, 0, 0, 2]);
    expect(matrix.get(1, 2)).toBe(1);
    expect(matrix.labelledPixels).toBe(7);
    expect(matrix.ignoredPixels).toBe(2);
  });

  it('computes every metric as defined', () => {
    const m = new ConfusionMatrix(3).update(pred, target).compute();
    // gt = [2, 3, 2], predicted = [1, 3, 3], correct = [1, 2, 2]
    expect(m.pixelAccuracy).toBeCloseTo(5 / 7, 14);
    expect(m.perClass.map((c) => c.accuracy)).toEqual([0.5, 2 / 3, 1]);
    expect(m.meanAccuracy).toBeCloseTo(13 / 18, 14);
    // union = [2, 4, 3]
    expect(m.perClass.map((c) => c.iou)).toEqual([0.5, 0.5, 2 / 3]);
    expect(m.meanIoU).toBeCloseTo(5 / 9, 14);
    expect(m.perClass.map((c) => c.dice)).toEqual([2 / 3, 4 / 6, 4 / 5]);
    expect(m.meanDice).toBeCloseTo(32 / 45, 14);
    expect(m.perClass.map((c) => c.precision)).toEqual([1, 2 / 3, 2 / 3]);
    // (2/7)(1/2) + (3/7)(1/2) + (2/7)(2/3)
    expect(m.fwIoU).toBeCloseTo(23 / 42, 14);
    expect(m.perClass.map((c) => [c.gtPixels, c.predictedPixels, c.correctPixels])).toEqual([
      [2, 1, 1],
      [3, 3, 2],
      [2, 3, 2],
    ]);
    expect(m.labelledPixels).toBe(7);
    expect(m.ignoredPixels).toBe(2);
  });

  it('leaves a class absent from both out of the means, and scores a predicted-only class IoU 0', () => {
    // n = 4: class 2 is predicted but never in the ground truth, class 3 appears nowhere.
    const m = new ConfusionMatrix(4).update(u8([0, 2, 1, 1]), u8([0, 0, 1, 1])).compute();
    const [c0, c1, c2, c3] = m.perClass;
    expect([c0!.iou, c1!.iou, c2!.iou]).toEqual([0.5, 1, 0]);
    expect(c3!.iou).toBeNaN();
    expect(m.meanIoU).toBeCloseTo(0.5, 14); // (0.5 + 1 + 0) / 3: class 3 left out, class 2 counted as 0
    expect([c0!.accuracy, c1!.accuracy]).toEqual([0.5, 1]);
    expect(c2!.accuracy).toBeNaN(); // no ground-truth pixel: recall is undefined
    expect(c3!.accuracy).toBeNaN();
    expect(m.meanAccuracy).toBe(0.75);
    expect([c0!.dice, c1!.dice, c2!.dice]).toEqual([2 / 3, 1, 0]);
    expect(c3!.dice).toBeNaN();
    expect([c0!.precision, c1!.precision, c2!.precision]).toEqual([1, 1, 0]);
    expect(c3!.precision).toBeNaN();
    expect(m.pixelAccuracy).toBe(0.75);
    expect(m.fwIoU).toBe(0.5 * 0.5 + 0.5 * 1);
  });

  it('scores a ground-truth class that is never predicted 0, with precision NaN', () => {
    const m = new ConfusionMatrix(2).update(u8([0, 0, 0, 0]), u8([0, 0, 1, 1])).compute();
    expect(m.perClass[1]!.iou).toBe(0);
    expect(m.perClass[1]!.accuracy).toBe(0);
    expect(m.perClass[1]!.dice).toBe(0);
    expect(m.perClass[1]!.precision).toBeNaN();
    expect(m.perClass[0]!.iou).toBe(0.5);
    expect(m.meanIoU).toBe(0.25);
    expect(m.meanAccuracy).toBe(0.5);
  });

  it('reports NaN everywhere for images that are all ignore, and counts them as ignored', () => {
    const matrix = new ConfusionMatrix(3).update(u8([0, 1, 2, 1, 0]), u8([255, 255, 255, 255, 255]));
    const m = matrix.compute();
    expect(m.labelledPixels).toBe(0);
    expect(m.ignoredPixels).toBe(5);
    for (const score of [m.pixelAccuracy, m.meanAccuracy, m.meanIoU, m.fwIoU, m.meanDice])
      expect(score).toBeNaN();
    for (const c of m.perClass) {
      for (const score of [c.iou, c.accuracy, c.dice, c.precision]) expect(score).toBeNaN();
    }
    // An all-ignore image adds nothing to a later real one.
    matrix.update(pred, target);
    expect(Array.from(matrix.getCounts())).toEqual([1, 1, 0, 0, 2, 1, 0, 0, 2]);
    expect(matrix.ignoredPixels).toBe(7);
  });

  it('scores a perfect prediction 1 everywhere', () => {
    const labels = u8([0, 1, 2, 3, 3, 2, 1, 0, 255, 4]);
    const perfect = u8([0, 1, 2, 3, 3, 2, 1, 0, 4, 4]);
    const m = new ConfusionMatrix(5).update(perfect, labels).compute();
    expect([m.pixelAccuracy, m.meanAccuracy, m.meanIoU, m.fwIoU, m.meanDice]).toEqual([1, 1, 1, 1, 1]);
    for (const c of m.perClass) expect([c.iou, c.accuracy, c.dice, c.precision]).toEqual([1, 1, 1, 1]);
  });

  it('an empty matrix reports NaN and zero pixels', () => {
    const m = new ConfusionMatrix(2).compute();
    expect(m.meanIoU).toBeNaN();
    expect(m.labelledPixels).toBe(0);
    expect(new ConfusionMatrix(2).update(u8([]), u8([])).labelledPixels).toBe(0);
  });

  it('counts a batch exactly like its images one by one', () => {
    const images = [
      { pred: u8([0, 1, 1]), target: u8([0, 1, 255]) },
      { pred: u8([2, 2, 0, 1, 1]), target: u8([2, 1, 0, 1, 255]) },
      { pred: u8([]), target: u8([]) },
    ];
    const batch = new ConfusionMatrix(3).update(
      images.map((x) => x.pred),
      images.map((x) => x.target),
    );
    const single = new ConfusionMatrix(3);
    for (const x of images) single.update(x.pred, x.target);
    expect(batch.getCounts()).toEqual(single.getCounts());
    expect(Array.from(batch.getCounts())).toEqual([2, 0, 0, 0, 2, 1, 0, 0, 1]);
    expect(batch.ignoredPixels).toBe(2);
  });

  it('gives the same counts for every pairing of Uint8, Uint16 and Int32 inputs', () => {
    const p = [0, 1, 2, 2, 1, 0, 1, 2, 0];
    const t = [0, 1, 255, 2, 2, 0, 1, 255, 1];
    const expected = Array.from(new ConfusionMatrix(3).update(u8(p), u8(t)).getCounts());
    const kinds = [Uint8Array, Uint16Array, Int32Array] as const;
    for (const P of kinds) {
      for (const T of kinds) {
        const matrix = new ConfusionMatrix(3).update(P.from(p), T.from(t));
        expect(Array.from(matrix.getCounts()), `${P.name} pred, ${T.name} target`).toEqual(expected);
        expect(matrix.ignoredPixels).toBe(2);
      }
    }
  });

  it('supports another ignore index, or none', () => {
    const m = new ConfusionMatrix(2, { ignoreIndex: -1 }).update(
      Int32Array.from([0, 1, 1]),
      Int32Array.from([0, -1, 1]),
    );
    expect(Array.from(m.getCounts())).toEqual([1, 0, 0, 1]);
    expect(m.ignoredPixels).toBe(1);
    const wide = new ConfusionMatrix(2, { ignoreIndex: 65535 }).update(
      u8([1, 1]),
      Uint16Array.from([65535, 1]),
    );
    expect(Array.from(wide.getCounts())).toEqual([0, 0, 0, 1]);
    const none = new ConfusionMatrix(2, { ignoreIndex: null }).update(u8([1, 0]), u8([1, 0]));
    expect(none.labelledPixels).toBe(2);
    expect(none.ignoreIndex).toBeNull();
  });

  it('resets to empty', () => {
    const matrix = new ConfusionMatrix(3).update(pred, target);
    matrix.reset();
    expect(Array.from(matrix.getCounts())).toEqual(new Array(9).fill(0));
    expect(matrix.ignoredPixels).toBe(0);
    matrix.update(pred, target);
    expect(Array.from(matrix.getCounts())).toEqual([1, 1, 0, 0, 2, 1, 0, 0, 2]);
  });
});
