// Pure drawing helpers of the fine-tune panel: the image with the live prediction and the marks
// over it, and the loss curve's points.
import type { Rgb } from '@semseg/core';

export interface Layers {
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Predicted classes, blended at `predictionOpacity` (null: not shown). */
  prediction: Uint8Array | null;
  predictionOpacity: number;
  /** Marked classes (255 = unmarked, not drawn), blended at `marksOpacity`. */
  marks: Uint8Array;
  marksOpacity: number;
  palette: readonly Rgb[];
}

/** RGBA pixels for the panel's canvas: image, then prediction, then marks. */
export function composeLayers(layers: Layers): Uint8ClampedArray<ArrayBuffer> {
  const { rgb, width, height, prediction, marks, palette } = layers;
  const out = new Uint8ClampedArray(width * height * 4);
  const blend = (base: number, colour: number, alpha: number) => base + (colour - base) * alpha;
  for (let p = 0; p < width * height; p++) {
    let r = rgb[p * 3]!;
    let g = rgb[p * 3 + 1]!;
    let b = rgb[p * 3 + 2]!;
    if (prediction) {
      const c = palette[prediction[p]!] ?? [0, 0, 0];
      r = blend(r, c[0], layers.predictionOpacity);
      g = blend(g, c[1], layers.predictionOpacity);
      b = blend(b, c[2], layers.predictionOpacity);
    }
    const mark = marks[p]!;
    if (mark !== 255) {
      const c = palette[mark] ?? [0, 0, 0];
      r = blend(r, c[0], layers.marksOpacity);
      g = blend(g, c[1], layers.marksOpacity);
      b = blend(b, c[2], layers.marksOpacity);
    }
    out[p * 4] = r;
    out[p * 4 + 1] = g;
    out[p * 4 + 2] = b;
    out[p * 4 + 3] = 255;
  }
  return out;
}

/**
 * SVG polyline points of a loss curve in a width x height box: x spans the planned steps, y the
 * range from 0 to the largest loss seen (so the first loss is near the top).
 */
export function lossCurvePoints(
  losses: readonly number[],
  plannedSteps: number,
  width: number,
  height: number,
): string {
  if (losses.length === 0) return '';
  const top = Math.max(...losses.filter(Number.isFinite), Number.MIN_VALUE);
  const span = Math.max(1, plannedSteps - 1);
  return losses
    .map((loss, i) => {
      const x = (i / span) * width;
      const y = height - (Math.min(loss, top) / top) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}
