import type { Rgb } from '@semseg/voc-data';
import { encodeLabelPng, vocColorMap } from '@semseg/voc-data';

/** A 256-entry palette: the checkpoint's colours for its classes, the VOC colour map elsewhere (255 = void). */
export function fullPalette(classPalette: readonly Rgb[] = []): Rgb[] {
  const voc = vocColorMap(256);
  return voc.map((color, i) => (classPalette[i] ? ([...classPalette[i]!] as Rgb) : color));
}

/** Class indices as an 8-bit palette PNG: the pixel values are the classes, the palette shows them. */
export function labelPng(
  labels: Uint8Array,
  width: number,
  height: number,
  classPalette?: readonly Rgb[],
): Uint8Array {
  return encodeLabelPng(labels, width, height, fullPalette(classPalette));
}
