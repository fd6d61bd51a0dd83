import { IGNORE_INDEX } from './classes.js';
import { chooseCropWindow } from './crop-window.js';
import { type RandomSource, uniform } from './random.js';
import { resizeImageBilinear, resizeLabelNearest } from './resize.js';
import type { Sample } from './types.js';

/** A crop or pad target. */
export interface Size {
  height: number;
  width: number;
}

/** RGB fill for image padding, in pixel units (0..255); usually `meanPixel(normalization)`. */
export type PadFill = readonly [number, number, number];

function checkSize(size: Size, what: string): void {
  if (!Number.isInteger(size.height) || !Number.isInteger(size.width) || size.height < 1 || size.width < 1) {
    throw new RangeError(
      `${what}: height and width must be positive integers, got ${size.height}x${size.width}`,
    );
  }
}

/** The size an image of `width x height` takes at `scale` (rounded half up, as mmsegmentation does). */
export function scaledSize(width: number, height: number, scale: number): Size {
  return {
    width: Math.max(1, Math.floor(width * scale + 0.5)),
    height: Math.max(1, Math.floor(height * scale + 0.5)),
  };
}

/** Resizes image (bilinear) and label (nearest neighbour) to `size`. */
export function resizeSample(sample: Sample, size: Size): Sample {
  checkSize(size, 'resizeSample');
  if (size.width === sample.width && size.height === sample.height) return sample;
  return {
    width: size.width,
    height: size.height,
    image: resizeImageBilinear(sample.image, sample.width, sample.height, size.width, size.height),
    label: resizeLabelNearest(sample.label, sample.width, sample.height, size.width, size.height),
  };
}

/** Draws a scale uniformly in `[min, max)` and resizes by it. Draws exactly one number. */
export function randomScale(sample: Sample, range: readonly [number, number], random: RandomSource): Sample {
  const scale = uniform(random, range[0], range[1]);
  return resizeSample(sample, scaledSize(sample.width, sample.height, scale));
}

/** Pads at the bottom and right to at least `size`: the image with `fill`, the label with 255. */
export function padSample(sample: Sample, size: Size, fill: PadFill): Sample {
  checkSize(size, 'padSample');
  const width = Math.max(size.width, sample.width);
  const height = Math.max(size.height, sample.height);
  if (width === sample.width && height === sample.height) return sample;
  const image = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    image[i * 3] = fill[0];
    image[i * 3 + 1] = fill[1];
    image[i * 3 + 2] = fill[2];
  }
  const label = new Uint8Array(width * height).fill(IGNORE_INDEX);
  for (let y = 0; y < sample.height; y++) {
    image.set(sample.image.subarray(y * sample.width * 3, (y + 1) * sample.width * 3), y * width * 3);
    label.set(sample.label.subarray(y * sample.width, (y + 1) * sample.width), y * width);
  }
  return { width, height, image, label };
}

/** Cuts the window at (`top`, `left`) of `size`; it must lie inside the sample. */
export function cropSample(sample: Sample, top: number, left: number, size: Size): Sample {
  checkSize(size, 'cropSample');
  if (top < 0 || left < 0 || top + size.height > sample.height || left + size.width > sample.width) {
    throw new RangeError(
      `cropSample: window ${size.height}x${size.width} at (${top}, ${left}) leaves the ${sample.height}x${sample.width} sample`,
    );
  }
  const image = new Float32Array(size.width * size.height * 3);
  const label = new Uint8Array(size.width * size.height);
  for (let y = 0; y < size.height; y++) {
    const sourceRow = (top + y) * sample.width + left;
    image.set(sample.image.subarray(sourceRow * 3, (sourceRow + size.width) * 3), y * size.width * 3);
    label.set(sample.label.subarray(sourceRow, sourceRow + size.width), y * size.width);
  }
  return { width: size.width, height: size.height, image, label };
}

/**
 * Pads to at least `size` (image with `fill`, label with 255), then cuts a window of `size` at a
 * uniformly drawn position (top, then left). With `catMaxRatio < 1` the window is redrawn, up to 10
 * tries, while one class covers that share of its labelled pixels (mmsegmentation's `cat_max_ratio`).
 */
export function randomCrop(
  sample: Sample,
  size: Size,
  random: RandomSource,
  fill: PadFill,
  catMaxRatio = 1,
): Sample {
  const { top, left } = chooseCropWindow(
    sample.height,
    sample.width,
    size.height,
    size.width,
    random,
    catMaxRatio,
    (y, x) => sample.label[y * sample.width + x],
  );
  return cropSample(padSample(sample, size, fill), top, left, size);
}

/** Mirrors image and label left-right. */
export function horizontalFlip(sample: Sample): Sample {
  const { width, height } = sample;
  const image =
    sample.image instanceof Uint8Array
      ? new Uint8Array(sample.image.length)
      : new Float32Array(sample.image.length);
  const label = new Uint8Array(sample.label.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = y * width + x;
      const to = y * width + (width - 1 - x);
      label[to] = sample.label[from];
      image[to * 3] = sample.image[from * 3];
      image[to * 3 + 1] = sample.image[from * 3 + 1];
      image[to * 3 + 2] = sample.image[from * 3 + 2];
    }
  }
  return { width, height, image, label };
}

/** Flips with probability `probability`. Always draws one number. */
export function randomHorizontalFlip(sample: Sample, random: RandomSource, probability = 0.5): Sample {
  return random.next() < probability ? horizontalFlip(sample) : sample;
}
