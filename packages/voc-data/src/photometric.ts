import { type RandomSource, uniform } from './random.js';

/**
 * mmsegmentation's `PhotoMetricDistortion` (mmseg/datasets/pipelines/transforms.py): on 8-bit
 * pixels, in this order, each step with probability 0.5: brightness (add U(-32, 32)), contrast
 * (multiply by U(0.5, 1.5)) here or after the HSV steps (a coin decides), saturation (S times
 * U(0.5, 1.5)), hue (H + an integer in [-18, 18), modulo 180, numpy's `randint` bounds). Each step
 * clips to 0..255 and truncates to bytes as mmseg's `convert`; the HSV round trips follow OpenCV's
 * 8-bit `cvtColor` (integer RGB->HSV with H in 0..179, float HSV->RGB rounded to even), as mmcv's
 * `bgr2hsv`/`hsv2bgr` call it.
 */
export interface PhotometricOptions {
  brightnessDelta: number;
  contrastRange: readonly [number, number];
  saturationRange: readonly [number, number];
  hueDelta: number;
}

export const MMSEG_PHOTOMETRIC: PhotometricOptions = {
  brightnessDelta: 32,
  contrastRange: [0.5, 1.5],
  saturationRange: [0.5, 1.5],
  hueDelta: 18,
};

/** What was drawn (null: that step did not run), for tests and logs. */
export interface PhotometricDraw {
  brightness: number | null;
  contrastFirst: boolean;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

const coin = (random: RandomSource): boolean => random.next() >= 0.5; // numpy's randint(2) == 1

/** Draws the parameters in mmsegmentation's order of `np.random` calls. */
export function drawPhotometric(
  random: RandomSource,
  o: PhotometricOptions = MMSEG_PHOTOMETRIC,
): PhotometricDraw {
  const brightness = coin(random) ? uniform(random, -o.brightnessDelta, o.brightnessDelta) : null;
  const contrastFirst = coin(random); // mmseg: mode == 1 -> contrast first
  const drawContrast = () => (coin(random) ? uniform(random, o.contrastRange[0], o.contrastRange[1]) : null);
  let contrast = contrastFirst ? drawContrast() : null;
  const saturation = coin(random) ? uniform(random, o.saturationRange[0], o.saturationRange[1]) : null;
  const hue = coin(random) ? -o.hueDelta + Math.floor(random.next() * 2 * o.hueDelta) : null;
  if (!contrastFirst) contrast = drawContrast();
  return { brightness, contrastFirst, contrast, saturation, hue };
}

const f32 = Math.fround;

/** mmseg's convert: float32 `x * alpha + beta`, clipped to 0..255, truncated to a byte. */
function convert(x: number, alpha: number, beta: number): number {
  const y = f32(f32(x * f32(alpha)) + f32(beta));
  return Math.trunc(Math.min(255, Math.max(0, y)));
}

const HSV_SHIFT = 12;
const SDIV = new Int32Array(256);
const HDIV = new Int32Array(256);
for (let i = 1; i < 256; i++) {
  SDIV[i] = Math.round((255 << HSV_SHIFT) / i);
  HDIV[i] = Math.round((180 << HSV_SHIFT) / (6 * i));
}

/** OpenCV's 8-bit RGB->HSV (H 0..179, S and V 0..255), into `hsv` at `o`. */
export function rgbToHsv8(r: number, g: number, b: number, hsv: Uint8Array | number[], o = 0): void {
  const v = Math.max(r, g, b);
  const diff = v - Math.min(r, g, b);
  const s = (diff * SDIV[v]! + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
  let h: number;
  if (v === r) h = g - b;
  else if (v === g) h = b - r + 2 * diff;
  else h = r - g + 4 * diff;
  h = (h * HDIV[diff]! + (1 << (HSV_SHIFT - 1))) >> HSV_SHIFT;
  if (h < 0) h += 180;
  hsv[o] = h;
  hsv[o + 1] = s;
  hsv[o + 2] = v;
}

/** Round half to even, as OpenCV's saturate_cast<uchar>(float). */
function roundByte(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  const rounded = frac > 0.5 || (frac === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return Math.min(255, Math.max(0, rounded));
}

// OpenCV's sector table: which of v, v(1-s), v(1-sh), v(1-s(1-h)) each of b, g, r takes.
const SECTORS = [
  [1, 3, 0],
  [1, 0, 2],
  [3, 0, 1],
  [0, 2, 1],
  [0, 1, 3],
  [2, 1, 0],
] as const;
const HSCALE = f32(6 / 180);
const INV255 = f32(1 / 255);

/** OpenCV's 8-bit HSV->RGB (float32 arithmetic, rounded to even), into `rgb` at `o`. */
export function hsvToRgb8(h8: number, s8: number, v8: number, rgb: Uint8Array | number[], o = 0): void {
  const s = f32(s8 * INV255);
  const v = f32(v8 * INV255);
  let r = v;
  let g = v;
  let b = v;
  if (s !== 0) {
    let h = f32(h8 * HSCALE);
    h = f32(h % 6);
    if (h < 0) h = f32(h + 6);
    let sector = Math.floor(h);
    h = f32(h - sector);
    if (sector < 0 || sector >= 6) {
      sector = 0;
      h = 0;
    }
    const tab = [v, f32(v * f32(1 - s)), f32(v * f32(1 - f32(s * h))), f32(v * f32(1 - f32(s * f32(1 - h))))];
    const [bi, gi, ri] = SECTORS[sector]!;
    b = tab[bi]!;
    g = tab[gi]!;
    r = tab[ri]!;
  }
  rgb[o] = roundByte(f32(r * 255));
  rgb[o + 1] = roundByte(f32(g * 255));
  rgb[o + 2] = roundByte(f32(b * 255));
}

/**
 * Applies a drawn distortion to an RGB HWC image of 0..255 values, in place, on the pixels
 * `inside(i)` accepts (the crop's padding is added after the distortion in mmseg, so it stays
 * as it is). Float input is first rounded to bytes, as mmseg's resized images are.
 */
export function applyPhotometric(
  image: Float32Array | Uint8Array,
  draw: PhotometricDraw,
  inside: (pixel: number) => boolean = () => true,
): void {
  const hsv = new Uint8Array(3);
  const rgb = new Uint8Array(3);
  const pixels = image.length / 3;
  for (let p = 0; p < pixels; p++) {
    if (!inside(p)) continue;
    const o = p * 3;
    rgb[0] = roundByte(image[o]!);
    rgb[1] = roundByte(image[o + 1]!);
    rgb[2] = roundByte(image[o + 2]!);
    if (draw.brightness !== null) for (let c = 0; c < 3; c++) rgb[c] = convert(rgb[c]!, 1, draw.brightness);
    if (draw.contrastFirst && draw.contrast !== null)
      for (let c = 0; c < 3; c++) rgb[c] = convert(rgb[c]!, draw.contrast, 0);
    if (draw.saturation !== null) {
      rgbToHsv8(rgb[0]!, rgb[1]!, rgb[2]!, hsv);
      hsv[1] = convert(hsv[1]!, draw.saturation, 0);
      hsvToRgb8(hsv[0]!, hsv[1]!, hsv[2]!, rgb);
    }
    if (draw.hue !== null) {
      rgbToHsv8(rgb[0]!, rgb[1]!, rgb[2]!, hsv);
      hsv[0] = (((hsv[0]! + draw.hue) % 180) + 180) % 180;
      hsvToRgb8(hsv[0]!, hsv[1]!, hsv[2]!, rgb);
    }
    if (!draw.contrastFirst && draw.contrast !== null)
      for (let c = 0; c < 3; c++) rgb[c] = convert(rgb[c]!, draw.contrast, 0);
    image[o] = rgb[0]!;
    image[o + 1] = rgb[1]!;
    image[o + 2] = rgb[2]!;
  }
}
