import { describe, expect, it } from 'vitest';
import {
  type PhotometricDraw,
  SeededRandom,
  applyPhotometric,
  augmentSample,
  drawPhotometric,
} from '../src/index.js';
import { hsvToRgb8, rgbToHsv8 } from '../src/photometric.js';

const none: PhotometricDraw = {
  brightness: null,
  contrastFirst: false,
  contrast: null,
  saturation: null,
  hue: null,
};

function distort(rgb: [number, number, number], draw: Partial<PhotometricDraw>): number[] {
  const image = new Float32Array(rgb);
  applyPhotometric(image, { ...none, ...draw });
  return Array.from(image);
}

/** A RandomSource that replays given values. */
const replay = (values: number[]) => ({ next: () => values.shift()! });

// The textbook conversions in float64 (no tables, no float32): an independent reference.
function referenceHsv(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const d = v - Math.min(r, g, b);
  const s = v === 0 ? 0 : (255 * d) / v;
  let h = 0;
  if (d > 0) {
    if (v === r) h = (60 * (g - b)) / d;
    else if (v === g) h = 120 + (60 * (b - r)) / d;
    else h = 240 + (60 * (r - g)) / d;
  }
  if (h < 0) h += 360;
  return [h / 2, s, v];
}
function referenceRgb(h: number, s: number, v: number): [number, number, number] {
  const S = s / 255;
  const H = ((h * 2) / 60) % 6;
  const c = v * S;
  const x = c * (1 - Math.abs((H % 2) - 1));
  const m = v - c;
  const [r, g, b] = [
    [c, x, 0],
    [x, c, 0],
    [0, c, x],
    [0, x, c],
    [x, 0, c],
    [c, 0, x],
  ][Math.floor(H)]!;
  return [r! + m, g! + m, b! + m];
}

describe("mmsegmentation's PhotoMetricDistortion", () => {
  it('a hand-computed pixel: (200, 100, 50)', () => {
    // HSV by hand with OpenCV's tables: V 200, S round(150*5222/4096) = 191, H round(50*819/4096) = 10.
    const hsv = [0, 0, 0];
    rgbToHsv8(200, 100, 50, hsv);
    expect(hsv).toEqual([10, 191, 200]);
    // Back: sector 0, f = 1/3: g = 200(1 - 0.749*(2/3))... = 100.13 -> 100, b = 200*(64/255) = 50.2 -> 50.
    const rgb = [0, 0, 0];
    hsvToRgb8(10, 191, 200, rgb);
    expect(rgb).toEqual([200, 100, 50]);
    // Brightness +10.7: 210.7, 110.7, 60.7 truncated.
    expect(distort([200, 100, 50], { brightness: 10.7 })).toEqual([210, 110, 60]);
    // Contrast 1.3: 260 clipped to 255, 130, 65.
    expect(distort([200, 100, 50], { contrast: 1.3 })).toEqual([255, 130, 65]);
    // Hue +6: H 16, f = 0.5333: g = 200(1 - 0.749*0.4667) = 130.09 -> 130.
    expect(distort([200, 100, 50], { hue: 6 })).toEqual([200, 130, 50]);
    // Hue -12 wraps: H (10 - 12) mod 180 = 178, sector 5 (f = 0.9333): b = 200(1 - 0.749*0.9333) = 60.2.
    expect(distort([200, 100, 50], { hue: -12 })).toEqual([200, 50, 60]);
    // Saturation x0.5: S trunc(95.5) = 95: b = 200(1 - 95/255) = 125.49 -> 125, g = 150.3 -> 150.
    expect(distort([200, 100, 50], { saturation: 0.5 })).toEqual([200, 150, 125]);
    // Contrast before or after the HSV steps differs: x0.5 then saturation x0.5 gives
    // (100, 50, 25) -> H 10, S trunc(191*0.5) = 95, V 100 -> b = 100*(160/255) = 62.75 -> 63;
    // saturation first gives (200, 150, 125), then x0.5 truncates 62.5 to 62.
    expect(distort([200, 100, 50], { saturation: 0.5, contrast: 0.5, contrastFirst: true })).toEqual([
      100, 75, 63,
    ]);
    expect(distort([200, 100, 50], { saturation: 0.5, contrast: 0.5, contrastFirst: false })).toEqual([
      100, 75, 62,
    ]);
  });

  it("draws in mmseg's order of np.random calls, each step with probability 0.5", () => {
    // brightness coin, value; mode coin (>= 0.5: contrast first); contrast coin, value; saturation
    // coin, value; hue coin, value.
    const d = drawPhotometric(replay([0.9, 0.75, 0.6, 0.7, 0.5, 0.2, 0.99, 0.0]));
    expect(d).toEqual({ brightness: 16, contrastFirst: true, contrast: 1.0, saturation: null, hue: -18 });
    const late = drawPhotometric(replay([0.1, 0.1, 0.6, 0.25, 0.4, 0.9, 0.999]));
    // brightness off; contrast last; saturation 0.75; hue off; contrast coin 0.9 -> U = 1.499.
    expect(late.brightness).toBeNull();
    expect(late.contrastFirst).toBe(false);
    expect(late.saturation).toBe(0.75);
    expect(late.hue).toBeNull();
    expect(late.contrast).toBeCloseTo(1.499, 12);
    // Frequencies over many draws: each step about half the time; hue in [-18, 17].
    const random = new SeededRandom(1);
    let hues = 0;
    let min = 0;
    let max = 0;
    for (let i = 0; i < 4000; i++) {
      const x = drawPhotometric(random);
      if (x.hue !== null) {
        hues++;
        min = Math.min(min, x.hue);
        max = Math.max(max, x.hue);
      }
    }
    expect(hues / 4000).toBeGreaterThan(0.46);
    expect(hues / 4000).toBeLessThan(0.54);
    expect([min, max]).toEqual([-18, 17]);
  });

  it('the 8-bit HSV conversions stay within rounding (plus the error of OpenCV tables) of exact float64 ones', () => {
    const random = new SeededRandom(9);
    const hsv = [0, 0, 0];
    const rgb = [0, 0, 0];
    for (let i = 0; i < 5000; i++) {
      const [r, g, b] = [0, 0, 0].map(() => Math.floor(random.next() * 256)) as [number, number, number];
      rgbToHsv8(r, g, b, hsv);
      const [h, s, v] = referenceHsv(r, g, b);
      // Rounding (0.5) plus the 12-bit tables' error: each entry is off by <= 0.5 / 4096 of a
      // unit, times a numerator of at most 5 * 255 (H) or 255 (S).
      const dh = Math.abs(hsv[0]! - h);
      expect(Math.min(dh, 180 - dh)).toBeLessThanOrEqual(0.5 + (5 * 255 * 0.5) / 4096);
      expect(Math.abs(hsv[1]! - s)).toBeLessThanOrEqual(0.5 + (255 * 0.5) / 4096);
      expect(hsv[2]).toBe(v);
      const H = Math.floor(random.next() * 180);
      const S = Math.floor(random.next() * 256);
      const V = Math.floor(random.next() * 256);
      hsvToRgb8(H, S, V, rgb);
      const exact = referenceRgb(H, S, V);
      for (let c = 0; c < 3; c++) expect(Math.abs(rgb[c]! - exact[c]!)).toBeLessThanOrEqual(0.5 + 1e-4);
    }
  });

  it('in the training augmentation: seeded per sample, other draws unchanged, padding untouched', () => {
    const width = 6;
    const height = 4;
    const image = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
    const sample = { width, height, image, label: new Uint8Array(width * height) };
    const options = {
      cropSize: { width: 8, height: 5 },
      scaleRange: [1, 1] as const,
      fill: [1, 2, 3] as const,
    };
    const plain = augmentSample(sample, options, SeededRandom.forSample(3, 0, 1));
    const a = augmentSample(sample, { ...options, photometric: true }, SeededRandom.forSample(3, 0, 1));
    const b = augmentSample(sample, { ...options, photometric: true }, SeededRandom.forSample(3, 0, 1));
    expect(a.image).toEqual(b.image);
    expect({ ...a.draw, photometric: undefined }).toEqual({ ...plain.draw, photometric: undefined });
    expect(a.label).toEqual(plain.label);
    // Each pixel is the distortion of the plain crop's pixel; the padding keeps its fill.
    const expected = new Float32Array(plain.image);
    applyPhotometric(expected, a.draw.photometric!, (p) => plain.label[p] !== 255);
    expect(a.image).toEqual(expected);
    for (let p = 0; p < 8 * 5; p++)
      if (plain.label[p] === 255) expect(Array.from(a.image.subarray(p * 3, p * 3 + 3))).toEqual([1, 2, 3]);
    // Different samples draw differently.
    const draws = new Set(
      [0, 1, 2, 3, 4, 5].map((i) =>
        JSON.stringify(
          augmentSample(sample, { ...options, photometric: true }, SeededRandom.forSample(3, 0, i)).draw
            .photometric,
        ),
      ),
    );
    expect(draws.size).toBeGreaterThan(3);
  });
});
