// The user's labels for fine-tuning: one class index per image pixel, 255 (ignored by the loss)
// where nothing is marked. The brush stamps discs of a class; the eraser stamps 255.
import { IGNORE_INDEX } from '@semseg/core';
import { DatasetError, decodeLabelPng } from '@semseg/voc-data';

export class Marks {
  readonly labels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    labels?: Uint8Array,
  ) {
    if (labels && labels.length !== width * height) {
      throw new RangeError(`Marks: ${labels.length} labels for a ${width}x${height} image`);
    }
    this.labels = labels ? Uint8Array.from(labels) : new Uint8Array(width * height).fill(IGNORE_INDEX);
  }

  /** Stamps a disc of `radius` pixels (image units) centred on (x, y) with a class, or 255 to erase. */
  stamp(x: number, y: number, radius: number, value: number): void {
    const r = Math.max(0.5, radius);
    const x0 = Math.max(0, Math.floor(x - r));
    const x1 = Math.min(this.width - 1, Math.ceil(x + r));
    const y0 = Math.max(0, Math.floor(y - r));
    const y1 = Math.min(this.height - 1, Math.ceil(y + r));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const dx = px + 0.5 - x;
        const dy = py + 0.5 - y;
        if (dx * dx + dy * dy <= r * r) this.labels[py * this.width + px] = value;
      }
    }
  }

  /** A stroke from one pointer position to the next: discs every half radius along the segment. */
  stroke(from: { x: number; y: number }, to: { x: number; y: number }, radius: number, value: number): void {
    const length = Math.hypot(to.x - from.x, to.y - from.y);
    const steps = Math.max(1, Math.ceil(length / Math.max(0.5, radius / 2)));
    for (let i = 0; i <= steps; i++) {
      const t = i / steps;
      this.stamp(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, radius, value);
    }
  }

  clear(): void {
    this.labels.fill(IGNORE_INDEX);
  }

  /** Marked pixels, and how many of each class. */
  counts(): { marked: number; perClass: Map<number, number> } {
    const perClass = new Map<number, number>();
    let marked = 0;
    for (const value of this.labels) {
      if (value === IGNORE_INDEX) continue;
      marked++;
      perClass.set(value, (perClass.get(value) ?? 0) + 1);
    }
    return { marked, perClass };
  }
}

/**
 * A VOC-layout label PNG (palette indices, value = class, 255 = ignore) as marks for an image of
 * this size; the error names the file and what does not fit.
 */
export function marksFromLabelPng(
  bytes: Uint8Array,
  file: string,
  size: { width: number; height: number },
  numClasses: number,
): Marks {
  const png = decodeLabelPng(bytes, file, { numClasses });
  if (png.width !== size.width || png.height !== size.height) {
    throw new DatasetError(
      file,
      `the label PNG is ${png.width}x${png.height} but the image is ${size.width}x${size.height}`,
    );
  }
  return new Marks(png.width, png.height, png.indices);
}

/** Share of marked pixels whose predicted label is the marked one (NaN with nothing marked). */
export function agreementOnMarks(marks: Uint8Array, predicted: Uint8Array): number {
  let marked = 0;
  let same = 0;
  for (let i = 0; i < marks.length; i++) {
    if (marks[i] === IGNORE_INDEX) continue;
    marked++;
    if (predicted[i] === marks[i]) same++;
  }
  return marked === 0 ? Number.NaN : same / marked;
}
