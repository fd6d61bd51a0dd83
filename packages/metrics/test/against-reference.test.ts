import { describe, expect, it } from 'vitest';
import { ConfusionMatrix, type LabelArray, type SegmentationMetrics } from '../src/index.js';
import { type ReferenceMetrics, randomImage, referenceMetrics, seededRandom } from './reference.js';

/** Equal up to rounding, and NaN exactly where the reference is NaN. */
function expectSameScore(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) expect(actual, what).toBeNaN();
  else expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-12);
}

function expectMatchesReference(m: SegmentationMetrics, counts: Float64Array, ref: ReferenceMetrics): void {
  expect(Array.from(counts)).toEqual(ref.counts.flat());
  expect(m.ignoredPixels).toBe(ref.ignored);
  expectSameScore(m.pixelAccuracy, ref.pixelAccuracy, 'pixelAccuracy');
  expectSameScore(m.meanAccuracy, ref.meanAccuracy, 'meanAccuracy');
  expectSameScore(m.meanIoU, ref.meanIoU, 'meanIoU');
  expectSameScore(m.fwIoU, ref.fwIoU, 'fwIoU');
  expectSameScore(m.meanDice, ref.meanDice, 'meanDice');
  ref.perClass.forEach((r, c) => {
    const a = m.perClass[c]!;
    expectSameScore(a.iou, r.iou, `iou[${c}]`);
    expectSameScore(a.accuracy, r.accuracy, `accuracy[${c}]`);
    expectSameScore(a.dice, r.dice, `dice[${c}]`);
    expectSameScore(a.precision, r.precision, `precision[${c}]`);
    expect(a.correctPixels).toBe(r.tp);
    expect(a.predictedPixels).toBe(r.tp + r.fp);
    expect(a.gtPixels).toBe(r.tp + r.fn);
  });
}

const kinds = [Uint8Array, Uint16Array, Int32Array] as const;

/** A matrix whose Uint32 scratch is folded every few pixels, to exercise the long-run paths. */
class TinyScratchMatrix extends ConfusionMatrix {
  constructor(numClasses: number, ignoreIndex: number, limit: number) {
    super(numClasses, { ignoreIndex });
    this.pendingPixelLimit = limit;
  }
}

describe('ConfusionMatrix against an independent slow reference on random data', () => {
  // 62 classes still get four histogram lanes, 63 do not; 300 classes need 16-bit labels.
  const cases = [
    { numClasses: 1, ignoreIndex: 255 },
    { numClasses: 2, ignoreIndex: 255 },
    { numClasses: 5, ignoreIndex: 255 },
    { numClasses: 21, ignoreIndex: 255 },
    { numClasses: 62, ignoreIndex: 255 },
    { numClasses: 63, ignoreIndex: 255 },
    { numClasses: 300, ignoreIndex: 65535 },
  ];
  for (const { numClasses, ignoreIndex } of cases) {
    it(`matches with ${numClasses} classes over mixed input types`, () => {
      const random = seededRandom(numClasses * 7919);
      const matrix = new ConfusionMatrix(numClasses, { ignoreIndex });
      const images = [];
      for (let k = 0; k < 12; k++) {
        const length = Math.floor(random() * 2500);
        // Some images leave classes out entirely, so absent classes occur.
        const presentClasses = Math.max(1, Math.floor(numClasses * (k % 3 === 0 ? 0.5 : 1)));
        const image = randomImage(random, length, {
          numClasses,
          ignoreIndex,
          ignoreRate: k === 5 ? 1 : 0.1,
          presentClasses,
        });
        images.push(image);
        const wide = numClasses > 255;
        const P = wide ? kinds[1 + (k % 2)]! : kinds[k % 3]!;
        const T = wide ? kinds[1 + ((k >> 1) % 2)]! : kinds[(k + Math.floor(k / 3)) % 3]!;
        matrix.update(P.from(image.pred) as LabelArray, T.from(image.target) as LabelArray);
      }
      expectMatchesReference(
        matrix.compute(),
        matrix.getCounts(),
        referenceMetrics(images, numClasses, ignoreIndex),
      );
    });
  }

  it('matches for Uint8 views at every byte alignment (word reads and byte reads)', () => {
    const random = seededRandom(31337);
    const image = randomImage(random, 203, { numClasses: 21, ignoreIndex: 255, ignoreRate: 0.1 });
    const reference = referenceMetrics([image], 21, 255);
    for (let predShift = 0; predShift < 4; predShift++) {
      for (let targetShift = 0; targetShift < 4; targetShift++) {
        const pred = new Uint8Array(image.pred.length + predShift).subarray(predShift);
        const target = new Uint8Array(image.target.length + targetShift).subarray(targetShift);
        pred.set(image.pred);
        target.set(image.target);
        const matrix = new ConfusionMatrix(21).update(pred, target);
        expectMatchesReference(matrix.compute(), matrix.getCounts(), reference);
      }
    }
  });

  it('matches when the Uint32 scratch is folded every few pixels, inside and between updates', () => {
    const random = seededRandom(4242);
    const images = Array.from({ length: 6 }, () =>
      randomImage(random, 37 + Math.floor(random() * 200), {
        numClasses: 7,
        ignoreIndex: 255,
        ignoreRate: 0.2,
      }),
    );
    for (const limit of [1, 3, 8, 50, 1000]) {
      const matrix = new TinyScratchMatrix(7, 255, limit);
      for (const image of images.slice(0, 3))
        matrix.update(Uint8Array.from(image.pred), Uint8Array.from(image.target));
      matrix.update(
        images.slice(3).map((x) => Int32Array.from(x.pred)),
        images.slice(3).map((x) => Uint8Array.from(x.target)),
      );
      expectMatchesReference(matrix.compute(), matrix.getCounts(), referenceMetrics(images, 7, 255));
    }
  });

  it('leaves the matrix as it was when a segmented update meets a bad label', () => {
    const random = seededRandom(99);
    const good = randomImage(random, 120, { numClasses: 4, ignoreIndex: 255, ignoreRate: 0.1 });
    const matrix = new TinyScratchMatrix(4, 255, 16);
    matrix.update(Uint8Array.from(good.pred), Uint8Array.from(good.target));
    const before = matrix.toJSON();
    const bad = Uint8Array.from(good.target);
    bad[100] = 9;
    expect(() =>
      matrix.update(
        [Uint8Array.from(good.pred), Uint8Array.from(good.pred)],
        [Uint8Array.from(good.target), bad],
      ),
    ).toThrow(/target\[1\]\[100\] = 9/);
    expect(matrix.toJSON()).toEqual(before);
    expectMatchesReference(matrix.compute(), matrix.getCounts(), referenceMetrics([good], 4, 255));
  });
});
