import { describe, expect, it } from 'vitest';
import { ConfusionMatrix, type LabelArray, MetricsError } from '../src/index.js';

const u8 = (values: number[]) => Uint8Array.from(values);

/** Runs `fn`, which must throw a MetricsError, and returns it. */
function caught(fn: () => unknown): MetricsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MetricsError);
    return error as MetricsError;
  }
  throw new Error('expected a MetricsError, nothing was thrown');
}

describe('ConfusionMatrix constructor errors', () => {
  it.each([0, -3, 2.5, Number.NaN, 4097, '21'])('rejects numClasses %s', (numClasses) => {
    const error = caught(() => new ConfusionMatrix(numClasses as number));
    expect(error.code).toBe('E_ARGUMENT');
    expect(error.message).toMatch(/numClasses must be an integer in 1\.\.4096/);
  });

  it('rejects an ignore index that is not an integer', () => {
    const error = caught(() => new ConfusionMatrix(3, { ignoreIndex: 1.5 }));
    expect(error.message).toMatch(/options\.ignoreIndex must be an integer or null, got 1\.5/);
  });

  it('rejects an ignore index that is a class', () => {
    expect(caught(() => new ConfusionMatrix(21, { ignoreIndex: 0 })).message).toMatch(
      /ignoreIndex 0 is a class index \(0\.\.20\)/,
    );
    // The default 255 is a class once there are 256 classes or more.
    expect(caught(() => new ConfusionMatrix(300)).message).toMatch(
      /ignoreIndex 255 is a class index \(0\.\.299\)/,
    );
  });

  it('rejects options that are not an object', () => {
    expect(caught(() => new ConfusionMatrix(3, null as never)).message).toMatch(/options must be an object/);
  });
});

describe('ConfusionMatrix.update errors', () => {
  it('rejects mismatched lengths', () => {
    const error = caught(() => new ConfusionMatrix(3).update(u8([0, 1, 2]), u8([0, 1])));
    expect(error.code).toBe('E_LENGTH');
    expect(error.message).toBe('ConfusionMatrix.update: pred has 3 pixels but target has 2');
  });

  it('rejects batches of different sizes and mismatched images in a batch', () => {
    const a = u8([0, 1]);
    expect(caught(() => new ConfusionMatrix(3).update([a, a], [a])).message).toMatch(
      /pred has 2 images but target has 1/,
    );
    const error = caught(() => new ConfusionMatrix(3).update([a, a], [a, u8([0])]));
    expect(error.code).toBe('E_LENGTH');
    expect(error.message).toMatch(/pred\[1\] has 2 pixels but target\[1\] has 1/);
  });

  it('rejects a batch paired with a single image', () => {
    const a = u8([0, 1]);
    const error = caught(() => new ConfusionMatrix(3).update([a], a));
    expect(error.code).toBe('E_ARGUMENT');
    expect(error.message).toMatch(/pred is an array of images but target is not/);
    expect(caught(() => new ConfusionMatrix(3).update(a, [a])).message).toMatch(
      /target is an array of images but pred/,
    );
  });

  it.each([
    ['a Float32Array', new Float32Array(2), 'a Float32Array'],
    ['a plain array of numbers', [0, 1], 'a plain array of numbers'],
    ['null', null, 'null'],
    ['a Uint8ClampedArray', new Uint8ClampedArray(2), 'a Uint8ClampedArray'],
  ])('rejects %s as input, naming the argument', (_, value, described) => {
    const error = caught(() => new ConfusionMatrix(3).update(value as unknown as LabelArray, u8([0, 1])));
    expect(error.code).toBe('E_ARGUMENT');
    expect(error.message).toBe(
      `ConfusionMatrix.update: pred must be a Uint8Array, Uint16Array or Int32Array of class indices, got ${described}`,
    );
    const inBatch = caught(() =>
      new ConfusionMatrix(3).update([u8([0, 1])], [value as unknown as LabelArray]),
    );
    expect(inBatch.message).toMatch(/target\[0\] must be a Uint8Array/);
  });

  it('rejects an out-of-range prediction, naming value, position and count', () => {
    const error = caught(() => new ConfusionMatrix(3).update(u8([0, 1, 3, 2, 7]), u8([0, 1, 2, 2, 2])));
    expect(error.code).toBe('E_PREDICTION');
    expect(error.message).toMatch(
      /^ConfusionMatrix\.update: pred\[2\] = 3 is not a class index \(0\.\.2\); 2 pixels of this image/,
    );
    expect(error.location).toEqual({ argument: 'pred', value: 3, index: 2, image: undefined, count: 2 });
  });

  it('rejects an out-of-range prediction even where the target is ignored', () => {
    const error = caught(() => new ConfusionMatrix(3).update(u8([0, 255]), u8([0, 255])));
    expect(error.message).toMatch(/pred\[1\] = 255 is not a class index/);
  });

  it('rejects negative Int32 predictions', () => {
    const error = caught(() =>
      new ConfusionMatrix(3).update(Int32Array.from([0, -1, 1, 2, 0]), u8([0, 0, 1, 2, 0])),
    );
    expect(error.location).toMatchObject({ argument: 'pred', value: -1, index: 1, count: 1 });
    // Past the unrolled part of the loop too.
    const tail = caught(() =>
      new ConfusionMatrix(3).update(Int32Array.from([0, 0, 0, 0, -5]), u8([0, 0, 1, 2, 0])),
    );
    expect(tail.location).toMatchObject({ value: -5, index: 4 });
  });

  it('rejects a target that is neither a class nor the ignore index, naming the value', () => {
    const error = caught(() => new ConfusionMatrix(21).update(u8([0, 0, 0, 0]), u8([0, 255, 21, 40])));
    expect(error.code).toBe('E_TARGET');
    expect(error.message).toMatch(
      /^ConfusionMatrix\.update: target\[2\] = 21 is neither a class index \(0\.\.20\) nor the ignore index \(255\); 2 pixels of this image have such targets/,
    );
    expect(error.location).toEqual({ argument: 'target', value: 21, index: 2, image: undefined, count: 2 });
  });

  it('names the image of a batch', () => {
    const ok = u8([0, 1, 2]);
    const error = caught(() => new ConfusionMatrix(3).update([ok, ok, ok], [ok, ok, u8([0, 9, 1])]));
    expect(error.message).toMatch(/target\[2\]\[1\] = 9 is neither a class index/);
    expect(error.message).toMatch(/1 pixel of image 2 have such targets/);
    expect(error.location).toMatchObject({ argument: 'target', image: 2, index: 1, value: 9 });
  });

  it('reports whichever bad value comes first', () => {
    const error = caught(() => new ConfusionMatrix(3).update(u8([0, 5, 0]), u8([0, 1, 7])));
    expect(error.location).toMatchObject({ argument: 'pred', index: 1 });
    const sameIndex = caught(() => new ConfusionMatrix(3).update(u8([0, 5]), u8([0, 7])));
    expect(sameIndex.location).toMatchObject({ argument: 'target', index: 1 });
  });

  it('rejects negative Int32 and large Uint16 targets', () => {
    expect(
      caught(() => new ConfusionMatrix(3).update(u8([0, 0]), Int32Array.from([0, -2]))).location,
    ).toMatchObject({ argument: 'target', value: -2, index: 1 });
    expect(
      caught(() => new ConfusionMatrix(3).update(u8([0, 0]), Uint16Array.from([0, 1000]))).location,
    ).toMatchObject({ argument: 'target', value: 1000, index: 1 });
  });

  it('finds a bad label at every position of the unrolled loops, with and without histogram lanes', () => {
    for (const numClasses of [21, 70]) {
      for (let position = 0; position < 9; position++) {
        for (const Pred of [Uint8Array, Int32Array, Uint16Array] as const) {
          const pred = new Pred(9);
          const target = new Uint8Array(9);
          pred[position] = numClasses;
          expect(caught(() => new ConfusionMatrix(numClasses).update(pred, target)).location).toMatchObject({
            argument: 'pred',
            index: position,
          });
          const badTarget = new Uint8Array(9);
          badTarget[position] = numClasses + 1;
          expect(
            caught(() => new ConfusionMatrix(numClasses).update(new Pred(9), badTarget)).location,
          ).toMatchObject({
            argument: 'target',
            index: position,
          });
        }
      }
    }
  });

  it('finds a bad label at every byte of the word-at-a-time Uint8 loop, whatever the alignment', () => {
    for (const shift of [0, 1, 2, 3]) {
      for (let position = 0; position < 24; position++) {
        const pred = new Uint8Array(24 + shift).subarray(shift);
        const target = new Uint8Array(24 + shift).subarray(shift);
        const matrix = new ConfusionMatrix(21);
        pred[position] = 21;
        expect(caught(() => matrix.update(pred, target)).location).toMatchObject({
          argument: 'pred',
          index: position,
        });
        pred[position] = 0;
        target[position] = 22;
        expect(caught(() => matrix.update(pred, target)).location).toMatchObject({
          argument: 'target',
          index: position,
        });
        // Nothing was counted by the failed calls.
        expect(matrix.labelledPixels).toBe(0);
      }
    }
  });

  it('treats 255 as an error when there is no ignore index', () => {
    const error = caught(() =>
      new ConfusionMatrix(3, { ignoreIndex: null }).update(u8([0, 0]), u8([0, 255])),
    );
    expect(error.message).toMatch(
      /target\[1\] = 255 is not a class index \(0\.\.2\) and no ignore index is set/,
    );
  });

  it('counts nothing of a call that fails, not even its earlier images', () => {
    const matrix = new ConfusionMatrix(3).update(u8([0, 1, 2, 2, 1]), u8([0, 1, 2, 255, 0]));
    const before = matrix.toJSON();
    const good = u8([0, 1, 2, 1, 0, 2, 1]);
    const inputs: Array<[LabelArray[], LabelArray[]]> = [
      [
        [good, good],
        [good, u8([0, 1, 2, 1, 0, 2, 3])],
      ],
      [
        [good, Int32Array.from([0, 1, 2, 1, 0, -2, 1])],
        [good, good],
      ],
      [
        [Uint16Array.from(good), Uint16Array.from([0, 1, 2, 1, 0, 4, 1])],
        [Uint16Array.from(good), Uint16Array.from(good)],
      ],
    ];
    for (const [preds, targets] of inputs) {
      expect(() => matrix.update(preds, targets)).toThrow(MetricsError);
      expect(matrix.toJSON()).toEqual(before);
    }
    // Still usable afterwards.
    matrix.update(good, good);
    expect(matrix.labelledPixels).toBe(4 + 7);
  });

  it('checks get() arguments', () => {
    const matrix = new ConfusionMatrix(3);
    expect(caught(() => matrix.get(3, 0)).message).toMatch(
      /get: target must be a class index in 0\.\.2, got 3/,
    );
    expect(caught(() => matrix.get(0, -1)).message).toMatch(
      /prediction must be a class index in 0\.\.2, got -1/,
    );
  });
});
