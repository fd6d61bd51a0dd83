import { describe, expect, it } from 'vitest';
import {
  CONFUSION_MATRIX_FORMAT,
  ConfusionMatrix,
  type ConfusionMatrixJSON,
  MetricsError,
} from '../src/index.js';
import { randomImage, seededRandom } from './reference.js';

function randomImages(seed: number, count: number, numClasses: number) {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const image = randomImage(random, Math.floor(random() * 900), {
      numClasses,
      ignoreIndex: 255,
      ignoreRate: 0.15,
    });
    return { pred: Uint8Array.from(image.pred), target: Uint8Array.from(image.target) };
  });
}

describe('ConfusionMatrix.merge', () => {
  it('merging shards equals one pass over the whole', () => {
    const images = randomImages(7, 20, 21);
    const whole = new ConfusionMatrix(21);
    for (const x of images) whole.update(x.pred, x.target);
    const shards = [0, 1, 2].map(() => new ConfusionMatrix(21));
    images.forEach((x, k) => shards[k % 3]!.update(x.pred, x.target));
    const merged = new ConfusionMatrix(21);
    for (const shard of shards) merged.merge(shard);
    expect(merged.getCounts()).toEqual(whole.getCounts());
    expect(merged.ignoredPixels).toBe(whole.ignoredPixels);
    expect(merged.compute()).toEqual(whole.compute());
    // Shards that crossed a worker boundary as JSON merge the same way.
    const viaJson = shards.map((s) => ConfusionMatrix.fromJSON(JSON.stringify(s)));
    const merged2 = viaJson[0]!.merge(viaJson[1]!).merge(viaJson[2]!);
    expect(merged2.toJSON()).toEqual(whole.toJSON());
  });

  it('leaves the other matrix unchanged and merging itself doubles the counts', () => {
    const [a, b] = randomImages(8, 2, 4);
    const left = new ConfusionMatrix(4, { ignoreIndex: 255 }).update(a!.pred, a!.target);
    const right = new ConfusionMatrix(4).update(b!.pred, b!.target);
    const rightBefore = right.toJSON();
    left.merge(right);
    expect(right.toJSON()).toEqual(rightBefore);
    const doubled = right.clone().merge(right.clone());
    right.merge(right);
    expect(right.toJSON()).toEqual(doubled.toJSON());
    expect(Array.from(right.getCounts())).toEqual(rightBefore.counts.map((c) => 2 * c));
    expect(right.ignoredPixels).toBe(2 * rightBefore.ignoredPixels);
  });

  it('rejects matrices that cannot be combined', () => {
    const m = new ConfusionMatrix(3);
    const messages = [
      () => m.merge(new ConfusionMatrix(4)),
      () => m.merge(new ConfusionMatrix(3, { ignoreIndex: null })),
      () => m.merge({ numClasses: 3 } as unknown as ConfusionMatrix),
    ].map((fn) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(MetricsError);
        expect((error as MetricsError).code).toBe('E_MERGE');
        return (error as Error).message;
      }
      return 'no error';
    });
    expect(messages[0]).toMatch(/other has 4 classes, this matrix has 3/);
    expect(messages[1]).toMatch(/other ignores null, this matrix ignores 255/);
    expect(messages[2]).toMatch(/other must be a ConfusionMatrix \(use fromJSON first\)/);
  });
});

describe('ConfusionMatrix JSON', () => {
  it('round-trips exactly through JSON text, and a resumed evaluation ends where one pass does', () => {
    const images = randomImages(9, 10, 21);
    const whole = new ConfusionMatrix(21);
    for (const x of images) whole.update(x.pred, x.target);
    const first = new ConfusionMatrix(21);
    for (const x of images.slice(0, 4)) first.update(x.pred, x.target);
    const text = JSON.stringify(first);
    const resumed = ConfusionMatrix.fromJSON(JSON.parse(text));
    expect(resumed.toJSON()).toEqual(first.toJSON());
    expect(ConfusionMatrix.fromJSON(text).toJSON()).toEqual(first.toJSON());
    for (const x of images.slice(4)) resumed.update(x.pred, x.target);
    expect(resumed.toJSON()).toEqual(whole.toJSON());
    expect(resumed.compute()).toEqual(whole.compute());
  });

  it('writes a versioned format and keeps large counts exact', () => {
    const json = new ConfusionMatrix(2, { ignoreIndex: null }).toJSON();
    expect(json).toEqual({
      format: CONFUSION_MATRIX_FORMAT,
      version: 1,
      numClasses: 2,
      ignoreIndex: null,
      ignoredPixels: 0,
      counts: [0, 0, 0, 0],
    });
    const big = 2 ** 52 + 1;
    const loaded = ConfusionMatrix.fromJSON(JSON.stringify({ ...json, counts: [big, 3, 0, 1] }));
    expect(loaded.get(0, 0)).toBe(big);
    expect(loaded.ignoreIndex).toBeNull();
    expect(loaded.update(Uint8Array.from([0]), Uint8Array.from([0])).get(0, 0)).toBe(big + 1);
  });

  const valid: ConfusionMatrixJSON = new ConfusionMatrix(2)
    .update(Uint8Array.from([0, 1, 1]), Uint8Array.from([0, 1, 255]))
    .toJSON();
  const cases: Array<[string, unknown, RegExp]> = [
    ['text that is not JSON', '{"format":', /not valid JSON/],
    ['a non-object', [1, 2], /expected an object/],
    [
      'another format',
      { ...valid, format: 'other' },
      /format must be "semseg-confusion-matrix", got "other"/,
    ],
    ['a missing version', { ...valid, version: undefined }, /version must be an integer, got undefined/],
    [
      'a newer version',
      { ...valid, version: 2 },
      /version 2 is not supported \(this package reads version 1\)/,
    ],
    ['numClasses 0', { ...valid, numClasses: 0 }, /numClasses must be an integer in 1\.\.4096, got 0/],
    [
      'a fractional ignoreIndex',
      { ...valid, ignoreIndex: 2.5 },
      /ignoreIndex must be an integer or null, got 2\.5/,
    ],
    [
      'an ignoreIndex that is a class',
      { ...valid, ignoreIndex: 1 },
      /ignoreIndex 1 is a class index \(0\.\.1\)/,
    ],
    [
      'negative ignoredPixels',
      { ...valid, ignoredPixels: -1 },
      /ignoredPixels must be a non-negative integer, got -1/,
    ],
    ['counts that are not an array', { ...valid, counts: 'abc' }, /counts must be an array, got "abc"/],
    [
      'counts of the wrong length',
      { ...valid, counts: [1, 2, 3] },
      /counts must hold numClasses\^2 = 4 entries, got 3/,
    ],
    [
      'a negative count',
      { ...valid, counts: [1, 0, -4, 1] },
      /counts\[2\] \(target 1, prediction 0\) must be a non-negative integer, got -4/,
    ],
    ['a fractional count', { ...valid, counts: [1, 0.5, 0, 1] }, /counts\[1\].*got 0\.5/],
    ['a string count', { ...valid, counts: [1, '2', 0, 1] }, /counts\[1\].*got "2"/],
    ['counts past 2^53', { ...valid, counts: [2 ** 52, 2 ** 52, 0, 1] }, /more than 2\^53 pixels/],
  ];
  it.each(cases)('rejects %s, naming the field', (_, input, message) => {
    let error: unknown;
    try {
      ConfusionMatrix.fromJSON(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MetricsError);
    expect((error as MetricsError).code).toBe('E_JSON');
    expect((error as Error).message).toMatch(/^ConfusionMatrix\.fromJSON: /);
    expect((error as Error).message).toMatch(message);
  });

  it('accepts what it wrote', () => {
    expect(ConfusionMatrix.fromJSON(valid).toJSON()).toEqual(valid);
  });
});
