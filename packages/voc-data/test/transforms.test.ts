import { describe, expect, it } from 'vitest';
import {
  type RandomSource,
  SeededRandom,
  augmentSample,
  cropSample,
  evalTransform,
  horizontalFlip,
  meanPixel,
  normalizeImage,
  padSample,
  randomCrop,
  randomHorizontalFlip,
  randomScale,
  resizeImageBilinear,
  resizeLabelNearest,
  resizeSample,
} from '../src/index.js';
import { CAFFE, IMAGENET, coordinateSample } from './helpers.js';

/** A RandomSource that replays fixed numbers, to force a draw. */
function fixed(...values: number[]): RandomSource {
  let i = 0;
  return { next: () => values[i++] };
}

describe('resizing', () => {
  it('bilinear uses half-pixel centres and clamps at the edges (hand-computed)', () => {
    // One row [0, 100] (R), widened to 4: source x = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25.
    const image = new Uint8Array([0, 0, 0, 100, 0, 0]);
    const out = resizeImageBilinear(image, 2, 1, 4, 1);
    expect([out[0], out[3], out[6], out[9]]).toEqual([0, 25, 75, 100]);
    // Halving 4 -> 2 samples at 0.5 and 2.5: means of neighbours.
    const row = new Uint8Array([10, 0, 0, 20, 0, 0, 30, 0, 0, 50, 0, 0]);
    const half = resizeImageBilinear(row, 4, 1, 2, 1);
    expect([half[0], half[3]]).toEqual([15, 40]);
  });

  it('labels use nearest neighbour: no new values, pixel-centre picks', () => {
    expect([...resizeLabelNearest(new Uint8Array([1, 2]), 2, 1, 4, 1)]).toEqual([1, 1, 2, 2]);
    expect([...resizeLabelNearest(new Uint8Array([1, 2, 3, 4]), 4, 1, 2, 1)]).toEqual([2, 4]);
    const { label } = coordinateSample(17, 11);
    const values = new Set(label);
    const resized = resizeLabelNearest(label, 17, 11, 40, 23);
    for (const v of resized) expect(values.has(v)).toBe(true);
    // Upscaling by an integer factor replicates each label into a block.
    const doubled = resizeLabelNearest(label, 17, 11, 34, 22);
    for (let y = 0; y < 22; y++) {
      for (let x = 0; x < 34; x++) expect(doubled[y * 34 + x]).toBe(label[(y >> 1) * 17 + (x >> 1)]);
    }
  });

  it('resizeSample changes both to the asked size', () => {
    const out = resizeSample(coordinateSample(9, 7), { width: 5, height: 13 });
    expect(out.image).toHaveLength(5 * 13 * 3);
    expect(out.label).toHaveLength(5 * 13);
  });
});

describe('scale, pad, crop and flip', () => {
  it('random scale draws in range and rounds sizes half up', () => {
    const sample = coordinateSample(11, 7);
    const out = randomScale(sample, [0.5, 2], fixed(0.5)); // scale 1.25
    expect([out.width, out.height]).toEqual([14, 9]); // 13.75 -> 14, 8.75 -> 9
  });

  it('pads the image with the fill and the label with 255, at the bottom and right', () => {
    const sample = coordinateSample(3, 2);
    const out = padSample(sample, { height: 4, width: 5 }, [1.5, 2.5, 3.5]);
    expect([out.width, out.height]).toEqual([5, 4]);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 5; x++) {
        const p = y * 5 + x;
        if (x < 3 && y < 2) {
          expect(out.label[p]).toBe(sample.label[y * 3 + x]);
          expect(out.image[p * 3]).toBe(x);
        } else {
          expect(out.label[p]).toBe(255);
          expect([out.image[p * 3], out.image[p * 3 + 1], out.image[p * 3 + 2]]).toEqual([1.5, 2.5, 3.5]);
        }
      }
    }
  });

  it('crops the drawn window', () => {
    const sample = coordinateSample(10, 8);
    // top = floor(0.5 * (8 - 4 + 1)) = 2, left = floor(0.99 * (10 - 3 + 1)) = 7
    const out = randomCrop(sample, { height: 4, width: 3 }, fixed(0.5, 0.99), [0, 0, 0]);
    expect(out.image[0]).toBe(7); // x
    expect(out.image[1]).toBe(2); // y
    expect(out.label[0]).toBe(sample.label[2 * 10 + 7]);
    expect(() => cropSample(sample, 6, 0, { height: 4, width: 3 })).toThrow(RangeError);
  });

  it('a crop larger than the image keeps the image at the top-left and pads the rest', () => {
    const out = randomCrop(coordinateSample(5, 3), { height: 6, width: 8 }, new SeededRandom(1), [9, 9, 9]);
    expect(out.label.filter((v) => v !== 255)).toHaveLength(15);
    expect(out.label[7]).toBe(255);
    expect(out.image[7 * 3]).toBe(9);
  });

  it('flips left-right, and twice is the identity', () => {
    const sample = coordinateSample(5, 3);
    const flipped = horizontalFlip(sample);
    expect(flipped.image[0]).toBe(4);
    expect(flipped.label[0]).toBe(sample.label[4]);
    expect(horizontalFlip(flipped)).toEqual(sample);
    expect(randomHorizontalFlip(sample, fixed(0.7), 0.5)).toBe(sample);
  });
});

describe('augmentSample (fused scale + crop + flip)', () => {
  const options = {
    cropSize: { height: 21, width: 19 },
    scaleRange: [0.5, 2] as const,
    fill: [7, 8, 9] as const,
  };

  it('equals randomScale -> randomCrop -> randomHorizontalFlip with the same generator, bit for bit', () => {
    const sample = coordinateSample(23, 17);
    for (let seed = 0; seed < 25; seed++) {
      const fused = augmentSample(sample, options, new SeededRandom(seed));
      const random = new SeededRandom(seed);
      const stepwise = randomHorizontalFlip(
        randomCrop(randomScale(sample, options.scaleRange, random), options.cropSize, random, options.fill),
        random,
      );
      expect(fused.label).toEqual(stepwise.label);
      expect(fused.image).toEqual(Float32Array.from(stepwise.image));
    }
  });

  it('with catMaxRatio, still equals the three transforms, and avoids one-class crops where it can', () => {
    // Left half class 1, right half class 2 (40 x 10): most 8x8 windows show one class only.
    const width = 40;
    const height = 10;
    const sample = coordinateSample(width, height);
    for (let p = 0; p < width * height; p++) sample.label[p] = p % width < 20 ? 1 : 2;
    const ratioOptions = {
      cropSize: { height: 8, width: 8 },
      scaleRange: [1, 1] as const,
      fill: [0, 0, 0] as const,
      catMaxRatio: 0.9,
    };
    let mixed = 0;
    let mixedWithout = 0;
    for (let seed = 0; seed < 40; seed++) {
      const fused = augmentSample(sample, ratioOptions, new SeededRandom(seed));
      const random = new SeededRandom(seed);
      const stepwise = randomHorizontalFlip(
        randomCrop(
          randomScale(sample, [1, 1], random),
          ratioOptions.cropSize,
          random,
          ratioOptions.fill,
          0.9,
        ),
        random,
      );
      expect(fused.label).toEqual(stepwise.label);
      expect(fused.image).toEqual(Float32Array.from(stepwise.image));
      if (new Set(fused.label).size > 1) mixed++;
      const plain = augmentSample(sample, { ...ratioOptions, catMaxRatio: 1 }, new SeededRandom(seed));
      if (new Set(plain.label).size > 1) mixedWithout++;
    }
    // Only windows with left in 13..19 (7 of 33) mix both classes: ~21% without the ratio,
    // 1 - (26/33)^10 ~ 91% with ten tries.
    expect(mixedWithout).toBeLessThan(20);
    expect(mixed).toBeGreaterThan(30);
  });

  it('has the crop shape, pads with the fill and 255, and is deterministic under a seed', () => {
    const sample = coordinateSample(12, 9); // smaller than the crop at every scale below 1.75
    const a = augmentSample(sample, options, new SeededRandom(3));
    const b = augmentSample(sample, options, new SeededRandom(3));
    const c = augmentSample(sample, options, new SeededRandom(4));
    expect(a.image).toHaveLength(21 * 19 * 3);
    expect(a.label).toHaveLength(21 * 19);
    expect(a).toEqual(b);
    expect(c.draw).not.toEqual(a.draw);
    const padded = [...a.label.keys()].filter((p) => a.label[p] === 255);
    expect(padded.length).toBeGreaterThan(0);
    for (const p of padded)
      expect([a.image[p * 3], a.image[p * 3 + 1], a.image[p * 3 + 2]]).toEqual([7, 8, 9]);
    const labels = new Set(sample.label);
    for (const v of a.label) expect(v === 255 || labels.has(v)).toBe(true);
  });
});

describe('normalisation', () => {
  it('follows mean/std/scale in RGB and reorders to BGR (hand-computed)', () => {
    const pixel = new Uint8Array([255, 128, 0]);
    const rgb = normalizeImage(pixel, IMAGENET);
    expect(rgb[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(rgb[1]).toBeCloseTo((128 / 255 - 0.456) / 0.224, 5);
    expect(rgb[2]).toBeCloseTo((0 - 0.406) / 0.225, 5);
    const bgr = normalizeImage(pixel, CAFFE);
    expect(bgr[0]).toBeCloseTo(0 - 103.939, 4); // B first
    expect(bgr[1]).toBeCloseTo(128 - 116.779, 4);
    expect(bgr[2]).toBeCloseTo(255 - 123.68, 4);
  });

  it('writes into a batch buffer at an offset and turns the mean pixel into zeros', () => {
    const out = new Float32Array(9).fill(-1);
    normalizeImage(Float32Array.from(meanPixel(IMAGENET)), IMAGENET, out, 3);
    expect(out[0]).toBe(-1);
    for (let i = 3; i < 6; i++) expect(Math.abs(out[i])).toBeLessThan(1e-6);
    expect(out[6]).toBe(-1);
    expect(() => normalizeImage(new Uint8Array(6), IMAGENET, new Float32Array(6), 3)).toThrow(RangeError);
  });
});

describe('evalTransform', () => {
  it('resizes keeping the ratio within (long, short) limits and pads to a fixed size', () => {
    const sample = coordinateSample(50, 20);
    const out = evalTransform(sample, {
      resize: { longSide: 40, shortSide: 30 },
      padTo: { height: 20, width: 48 },
      fill: [1, 2, 3],
    });
    expect([out.validWidth, out.validHeight]).toEqual([40, 16]);
    expect([out.width, out.height]).toEqual([48, 20]);
    expect([out.originalWidth, out.originalHeight]).toEqual([50, 20]);
    expect(out.label[19 * 48 + 47]).toBe(255);
    expect(out.image[(19 * 48 + 47) * 3]).toBe(1);
    expect(() => evalTransform(sample, { padTo: { height: 10, width: 10 }, fill: [0, 0, 0] })).toThrow(
      /does not fit/,
    );
  });

  it('leaves the sample alone without resize or pad', () => {
    const sample = coordinateSample(7, 5);
    const out = evalTransform(sample, { fill: [0, 0, 0] });
    expect(out.image).toBe(sample.image);
    expect([out.validWidth, out.validHeight]).toEqual([7, 5]);
  });
});
