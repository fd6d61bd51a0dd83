import { Rng, getModelDefinition } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { distanceTransform, pixelWeightedCrossEntropy, unetWeightMap } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The definition: the smallest Euclidean distance to any feature pixel, O(pixels^2). */
function bruteForce(features: boolean[], width: number, height: number): Float64Array {
  const out = new Float64Array(width * height).fill(Number.POSITIVE_INFINITY);
  for (let p = 0; p < out.length; p++) {
    const py = Math.floor(p / width);
    const px = p % width;
    for (let q = 0; q < features.length; q++) {
      if (!features[q]) continue;
      const d = Math.hypot(px - (q % width), py - Math.floor(q / width));
      if (d < out[p]!) out[p] = d;
    }
  }
  return out;
}

describe('distance transform', () => {
  it.each([
    [17, 13, 0.05],
    [9, 31, 0.3],
    [20, 20, 0.01],
    [1, 12, 0.2],
    [12, 1, 0.2],
  ])('equals the brute-force distance on %ix%i with %f features', (width, height, density) => {
    const rng = new Rng(width * 100 + height);
    for (let trial = 0; trial < 5; trial++) {
      const features = Array.from({ length: width * height }, () => rng.next() < density);
      if (trial === 0) features.fill(false).splice(0, 1, true); // a single corner feature
      const exact = distanceTransform((i) => features[i]!, width, height);
      const reference = bruteForce(features, width, height);
      for (let i = 0; i < exact.length; i++) expect(exact[i]).toBeCloseTo(reference[i]!, 9);
    }
  });

  it('is Infinity everywhere when there is no feature', () => {
    const d = distanceTransform(() => false, 4, 3);
    expect([...d].every((v) => v === Number.POSITIVE_INFINITY)).toBe(true);
  });
});

describe('the paper weight map', () => {
  // Two cells in a 12x5 image: cell 1 in columns 0..3, cell 2 in columns 7..11; background
  // columns 4..6 between them (the gap the border term is for); row 4 is ignored (255).
  const width = 12;
  const height = 5;
  const instances = new Uint8Array(width * height);
  const labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      instances[i] = x <= 3 ? 1 : x >= 7 ? 2 : 0;
      labels[i] = y === 4 ? 255 : instances[i]! > 0 ? 1 : 0;
    }

  it('adds w0 exp(-(d1 + d2)^2 / 2 sigma^2) in the gaps, on balanced class weights', () => {
    const w = unetWeightMap({ width, height, labels, instances, numClasses: 2 });
    // Labelled: 48 pixels, 12 background, 36 cell: w_c = 48 / (2 * 12) = 2 and 48 / (2 * 36) = 2/3.
    expect(w[0]).toBeCloseTo(2 / 3, 6);
    // Column 4: d1 = 1 (to column 3), d2 = 3 (to column 7): 2 + 10 exp(-16 / 50).
    expect(w[4]).toBeCloseTo(2 + 10 * Math.exp(-16 / 50), 5);
    // Column 5: d1 = 2, d2 = 2.
    expect(w[width + 5]).toBeCloseTo(2 + 10 * Math.exp(-16 / 50), 5);
    // Column 6: d1 = 1, d2 = 3, as column 4.
    expect(w[2 * width + 6]).toBeCloseTo(w[4]!, 6);
    // The ignored row weighs nothing.
    expect(w[4 * width + 5]).toBe(0);
  });

  it('takes explicit class weights, w0 and sigma; one instance gives no border term', () => {
    const w = unetWeightMap({
      width,
      height,
      labels,
      instances,
      numClasses: 2,
      classWeights: [1, 1],
      w0: 5,
      sigma: 2,
    });
    expect(w[4]).toBeCloseTo(1 + 5 * Math.exp(-16 / 8), 5);
    const single = unetWeightMap({
      width,
      height,
      labels,
      instances: instances.map((v) => (v === 2 ? 0 : v)),
      numClasses: 2,
      classWeights: [1, 1],
    });
    expect(single[4]).toBe(1);
    expect(() => unetWeightMap({ width, height: 4, labels, instances, numClasses: 2 })).toThrow(
      /must hold 12x4 = 48 values/,
    );
  });

  it('pixelWeightedCrossEntropy is the weighted mean over labelled pixels', () => {
    const logits = tf.tensor4d([2, 0, 0, 1, 1, 1], [1, 1, 3, 2]);
    const target = tf.tensor3d([0, 1, 255], [1, 1, 3], 'int32');
    const weights = tf.tensor3d([3, 0.5, 7], [1, 1, 3]);
    const loss = pixelWeightedCrossEntropy(logits, target, weights);
    const ce0 = Math.log(1 + Math.exp(-2));
    const ce1 = Math.log(1 + Math.exp(-1));
    expect(loss.dataSync()[0]).toBeCloseTo((3 * ce0 + 0.5 * ce1) / 2, 6);
    tf.dispose([logits, target, weights, loss]);
  });
});

describe("the registry's weight map (semseg train --weight-map)", () => {
  it("is unetWeightMap with the run's w0 and sigma, the paper's 10 and 5 by default", () => {
    // Two cells of class 1 with a 2-pixel gap of background between them, in a 9x5 crop.
    const width = 9;
    const height = 5;
    const labels = new Uint8Array(width * height);
    const instances = new Uint16Array(width * height);
    for (let y = 1; y < 4; y++)
      for (let x = 0; x < width; x++) {
        if (x >= 1 && x <= 3) [labels[y * width + x], instances[y * width + x]] = [1, 1];
        if (x >= 6 && x <= 8) [labels[y * width + x], instances[y * width + x]] = [1, 2];
      }
    const input = { width, height, labels, instances, numClasses: 2, ignoreIndex: 255 };
    const map = getModelDefinition('unet').pixelWeightMap!;
    expect(Array.from(map(input, {}))).toEqual(Array.from(unetWeightMap({ ...input, w0: 10, sigma: 5 })));
    const tuned = map(input, { w0: 3, sigma: 1.5 });
    expect(Array.from(tuned)).toEqual(Array.from(unetWeightMap({ ...input, w0: 3, sigma: 1.5 })));
    // Pixel (4, 2) lies in the gap, 1 from cell 1 and 2 from cell 2: the border term by hand.
    const balanced = unetWeightMap({ ...input, w0: 0 })[2 * width + 4]!;
    expect(tuned[2 * width + 4]).toBeCloseTo(balanced + 3 * Math.exp(-((1 + 2) ** 2) / (2 * 1.5 ** 2)), 5);
  });
});
