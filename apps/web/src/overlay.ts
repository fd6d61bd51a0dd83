import { type Rgb, blendLabels, completePalette } from '@semseg/voc-data';

/**
 * The canvas's RGBA pixels: the image with the label colours laid over it (`opacity` 0 is the
 * image, 1 the colours only). The blending is @semseg/voc-data's, with the checkpoint's colours
 * completed by the VOC colour map, exactly as `semseg predict --overlay` draws the image part of
 * its picture; the page only puts these pixels on its canvas.
 */
export function overlayPixels(
  image: { width: number; height: number; pixels: Uint8Array },
  labels: Uint8Array,
  classPalette: readonly Rgb[],
  opacity: number,
): Uint8ClampedArray<ArrayBuffer> {
  return blendLabels(
    { width: image.width, height: image.height, data: image.pixels },
    labels,
    completePalette(classPalette),
    opacity,
  );
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
