import type { Rgb } from './types.js';

/**
 * The VOC devkit colour map (`VOClabelcolormap.m`): the bits of the class index are spread over
 * R, G and B from the most significant bit down, three bits per round.
 * `vocColorMap()[15]` is person's [192, 128, 128]; index 255 (void) is [224, 224, 192].
 */
export function vocColorMap(count = 256): Rgb[] {
  const colors: Rgb[] = [];
  for (let index = 0; index < count; index++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = index;
    for (let shift = 7; shift >= 0; shift--) {
      r |= (c & 1) << shift;
      g |= ((c >> 1) & 1) << shift;
      b |= ((c >> 2) & 1) << shift;
      c >>= 3;
    }
    colors.push([r, g, b]);
  }
  return colors;
}

/** Paints a label map with a palette: RGBA bytes (alpha 255), ready for an ImageData or an RGBA encoder. */
export function colorizeLabels(
  labels: Uint8Array,
  palette: readonly Rgb[] = vocColorMap(),
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(labels.length * 4);
  for (let i = 0; i < labels.length; i++) {
    const color = palette[labels[i]] ?? [0, 0, 0];
    out[i * 4] = color[0];
    out[i * 4 + 1] = color[1];
    out[i * 4 + 2] = color[2];
    out[i * 4 + 3] = 255;
  }
  return out;
}
