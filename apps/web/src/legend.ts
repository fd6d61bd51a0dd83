import type { Rgb } from '@semseg/core';

export interface ClassShare {
  index: number;
  name: string;
  color: Rgb;
  pixels: number;
  /** pixels / all pixels, 0..1. */
  share: number;
}

/** Pixels per class of a label map (indices >= numClasses, such as 255, are not counted). */
export function countClasses(labels: Uint8Array, numClasses: number): Uint32Array {
  const counts = new Uint32Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts.slice(0, numClasses);
}

/** Every class with its colour and share of the image's pixels, largest share first, then by index. */
export function classShares(
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
): ClassShare[] {
  const counts = countClasses(labels, classes.length);
  const total = labels.length;
  const rows = classes.map((name, index) => ({
    index,
    name,
    color: palette[index] ?? ([0, 0, 0] as Rgb),
    pixels: counts[index]!,
    share: total > 0 ? counts[index]! / total : 0,
  }));
  return rows.sort((a, b) => b.pixels - a.pixels || a.index - b.index);
}

/** A share as the legend prints it: one decimal, "<0.1%" for a few pixels rather than "0.0%". */
export function formatShare(share: number): string {
  if (share === 0) return '0%';
  if (share < 0.001) return '<0.1%';
  return `${(share * 100).toFixed(1)}%`;
}
