import type { Rgb } from '@semseg/core';

/**
 * RGBA pixels of the image with the label colours laid over it: `opacity` 0 is the image, 1 the
 * colours only. Labels without a palette entry (255, "ignore") leave the image as it is.
 */
export function blendOverlay(
  rgb: Uint8Array,
  labels: Uint8Array,
  palette: readonly Rgb[],
  opacity: number,
): Uint8ClampedArray<ArrayBuffer> {
  const a = Math.min(1, Math.max(0, opacity));
  const out = new Uint8ClampedArray(labels.length * 4);
  for (let p = 0; p < labels.length; p++) {
    const color = palette[labels[p]!];
    for (let c = 0; c < 3; c++) {
      const pixel = rgb[p * 3 + c]!;
      out[p * 4 + c] = color ? pixel + (color[c] - pixel) * a : pixel;
    }
    out[p * 4 + 3] = 255;
  }
  return out;
}

/** Labels of `before` left of column `splitX` and of `after` from it on: the compare view. */
export function splitLabels(
  before: Uint8Array,
  after: Uint8Array,
  width: number,
  splitX: number,
): Uint8Array {
  if (before.length !== after.length) throw new RangeError('before and after must be the same size');
  const out = after.slice();
  const cut = Math.max(0, Math.min(width, Math.round(splitX)));
  for (let row = 0; row < before.length; row += width) out.set(before.subarray(row, row + cut), row);
  return out;
}
