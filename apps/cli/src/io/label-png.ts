import type { Rgb } from '@semseg/voc-data';
import { completePalette, encodeLabelPng } from '@semseg/voc-data';

/**
 * Class indices as an 8-bit palette PNG: the pixel values are the classes, the palette shows them
 * (the checkpoint's colours, the VOC colour map for every other index: `completePalette`).
 */
export function labelPng(
  labels: Uint8Array,
  width: number,
  height: number,
  classPalette?: readonly Rgb[],
): Uint8Array {
  return encodeLabelPng(labels, width, height, completePalette(classPalette));
}
