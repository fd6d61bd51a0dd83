import { IGNORE_INDEX } from './classes.js';
import { chooseCropWindow } from './crop-window.js';
import { type PhotometricDraw, applyPhotometric, drawPhotometric } from './photometric.js';
import { type RandomSource, uniform } from './random.js';
import { bilinearTaps, nearestTaps } from './resize.js';
import { type PadFill, type Size, scaledSize } from './transforms.js';
import type { Sample } from './types.js';

/** The training augmentation: random scale, random crop with padding, random horizontal flip. */
export interface AugmentOptions {
  /** Crop size fed to the network, e.g. 321x321 (DeepLab) or 512x512 (mmsegmentation). */
  cropSize: Size;
  /** Scale range `[min, max)`, e.g. [0.5, 2.0]; [1, 1] turns scaling off. */
  scaleRange: readonly [number, number];
  /** Probability of a horizontal flip (default 0.5). */
  flipProbability?: number;
  /** Image padding where the scaled image is smaller than the crop, in pixel units: the mean pixel. */
  fill: PadFill;
  /**
   * Redraw the crop (up to 10 tries) while one class covers this share or more of its labelled
   * pixels, as mmsegmentation's `cat_max_ratio` (0.75 in its VOC configs). Default 1: off.
   */
  catMaxRatio?: number;
  /**
   * mmsegmentation's PhotoMetricDistortion on the crop after the flip (brightness, contrast,
   * saturation, hue; see photometric.ts), its draws after the flip's. Default off.
   */
  photometric?: boolean;
}

/** What `augmentSample` drew, for logging and tests. */
export interface AugmentDraw {
  scale: number;
  top: number;
  left: number;
  flipped: boolean;
  /** The photometric distortion drawn, when `photometric` is on. */
  photometric?: PhotometricDraw;
}

/** Draws the augmentation parameters in the same order as randomScale -> randomCrop -> randomHorizontalFlip. */
export function drawAugmentation(sample: Sample, options: AugmentOptions, random: RandomSource): AugmentDraw {
  const scale = uniform(random, options.scaleRange[0], options.scaleRange[1]);
  const scaled = scaledSize(sample.width, sample.height, scale);
  const catMaxRatio = options.catMaxRatio ?? 1;
  // The scaled label is read through nearest-neighbour taps, only when the class ratio is checked.
  const ys = catMaxRatio < 1 ? nearestTaps(sample.height, scaled.height) : undefined;
  const xs = catMaxRatio < 1 ? nearestTaps(sample.width, scaled.width) : undefined;
  const { top, left } = chooseCropWindow(
    scaled.height,
    scaled.width,
    options.cropSize.height,
    options.cropSize.width,
    random,
    catMaxRatio,
    (y, x) => sample.label[ys![y] * sample.width + xs![x]],
  );
  const flipped = random.next() < (options.flipProbability ?? 0.5);
  return { scale, top, left, flipped };
}

/**
 * `randomHorizontalFlip(randomCrop(randomScale(sample)))` in one pass: only the pixels inside the
 * crop window are resampled, so a 2x scale costs no more than 1x. Same draws, same values, bit for
 * bit, as the three transforms applied one after the other.
 */
export function augmentSample(
  sample: Sample,
  options: AugmentOptions,
  random: RandomSource,
): Sample & { draw: AugmentDraw } {
  const draw = drawAugmentation(sample, options, random);
  const { width: cropWidth, height: cropHeight } = options.cropSize;
  const scaled = scaledSize(sample.width, sample.height, draw.scale);
  const image = new Float32Array(cropWidth * cropHeight * 3);
  const label = new Uint8Array(cropWidth * cropHeight);
  const sourceInstances = sample.instances;
  const instances = sourceInstances ? new Uint16Array(cropWidth * cropHeight) : undefined;

  // Columns of the crop window that fall inside the scaled image, before flipping.
  const insideWidth = Math.max(0, Math.min(cropWidth, scaled.width - draw.left));
  const insideHeight = Math.max(0, Math.min(cropHeight, scaled.height - draw.top));
  const xs = bilinearTaps(sample.width, scaled.width, draw.left, insideWidth);
  const ys = bilinearTaps(sample.height, scaled.height, draw.top, insideHeight);
  const labelXs = nearestTaps(sample.width, scaled.width, draw.left, insideWidth);
  const labelYs = nearestTaps(sample.height, scaled.height, draw.top, insideHeight);
  const [fillR, fillG, fillB] = options.fill;
  const source = sample.image;
  const sourceRow = sample.width * 3;

  for (let y = 0; y < cropHeight; y++) {
    const inside = y < insideHeight;
    // Same arithmetic as bilinearPixel, inlined: this loop is the pipeline's hot spot.
    const row0 = inside ? ys.low[y] * sourceRow : 0;
    const row1 = inside ? ys.high[y] * sourceRow : 0;
    const fy = inside ? ys.weight[y] : 0;
    const labelRow = inside ? labelYs[y] * sample.width : 0;
    for (let column = 0; column < cropWidth; column++) {
      const x = draw.flipped ? cropWidth - 1 - column : column;
      const out = y * cropWidth + x;
      const o = out * 3;
      if (!inside || column >= insideWidth) {
        image[o] = fillR;
        image[o + 1] = fillG;
        image[o + 2] = fillB;
        label[out] = IGNORE_INDEX;
        continue;
      }
      const x0 = xs.low[column] * 3;
      const x1 = xs.high[column] * 3;
      const fx = xs.weight[column];
      for (let c = 0; c < 3; c++) {
        const p00 = source[row0 + x0 + c];
        const p01 = source[row0 + x1 + c];
        const p10 = source[row1 + x0 + c];
        const p11 = source[row1 + x1 + c];
        const top = p00 + (p01 - p00) * fx;
        const bottom = p10 + (p11 - p10) * fx;
        image[o + c] = top + (bottom - top) * fy;
      }
      label[out] = sample.label[labelRow + labelXs[column]];
      if (instances) instances[out] = sourceInstances![labelRow + labelXs[column]];
    }
  }
  if (options.photometric) {
    // Drawn after the flip so that the other draws stay those of a run without it. The padding
    // keeps its fill: mmseg pads after the distortion.
    draw.photometric = drawPhotometric(random);
    applyPhotometric(image, draw.photometric, (pixel) => {
      const x = pixel % cropWidth;
      const column = draw.flipped ? cropWidth - 1 - x : x;
      return Math.floor(pixel / cropWidth) < insideHeight && column < insideWidth;
    });
  }
  return { width: cropWidth, height: cropHeight, image, label, ...(instances ? { instances } : {}), draw };
}
