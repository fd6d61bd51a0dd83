import { vocColorMap } from './colormap.js';
import type { Rgb } from './types.js';

/**
 * A palette of `size` colours (256: one per 8-bit label value): the given colours (a checkpoint's
 * or dataset's, one per class) first, the VOC colour map for every index they do not cover, so
 * a class beyond the given list, and 255 (void), still have a colour. The given colours are copied.
 */
export function completePalette(classPalette: readonly Rgb[] = [], size = 256): Rgb[] {
  if (!Number.isInteger(size) || size < 0 || size > 256) {
    throw new RangeError(`completePalette: size must be an integer in 0..256, got ${size}`);
  }
  return vocColorMap(size).map((color, i) => {
    const given = classPalette[i];
    return given ? [given[0], given[1], given[2]] : color;
  });
}
