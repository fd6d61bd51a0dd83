import { type PadFill, type Size, padSample, resizeSample, scaledSize } from './transforms.js';
import type { Sample } from './types.js';

/** Eval-time geometry: optional keep-ratio resize, then optional bottom/right padding to a fixed size. */
export interface EvalTransformOptions {
  /**
   * Keep-ratio resize so that the long side is at most `longSide` and the short side at most
   * `shortSide` (mmsegmentation's `Resize(scale=(2048, 512), keep_ratio=True)`); either may be left out.
   */
  resize?: { longSide?: number; shortSide?: number };
  /** Pad to this size (e.g. DeepLab's 513x513); inputs larger than it are an error, not cropped. */
  padTo?: Size;
  /** Image padding in pixel units: the mean pixel. */
  fill: PadFill;
}

/** A sample ready for evaluation and where its real pixels lie. */
export interface EvalSample extends Sample {
  /** Size after resizing and before padding: crop predictions to this, then resize to the original. */
  validHeight: number;
  validWidth: number;
  originalHeight: number;
  originalWidth: number;
}

/** The keep-ratio scale factor of mmsegmentation's `rescale_size`. */
export function fitScale(
  width: number,
  height: number,
  limits: { longSide?: number; shortSide?: number },
): number {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const longScale = limits.longSide ? limits.longSide / long : Number.POSITIVE_INFINITY;
  const shortScale = limits.shortSide ? limits.shortSide / short : Number.POSITIVE_INFINITY;
  const scale = Math.min(longScale, shortScale);
  return Number.isFinite(scale) ? scale : 1;
}

export function evalTransform(sample: Sample, options: EvalTransformOptions): EvalSample {
  let current = sample;
  if (options.resize) {
    const scale = fitScale(sample.width, sample.height, options.resize);
    current = resizeSample(sample, scaledSize(sample.width, sample.height, scale));
  }
  const validHeight = current.height;
  const validWidth = current.width;
  if (options.padTo) {
    if (current.height > options.padTo.height || current.width > options.padTo.width) {
      throw new RangeError(
        `evalTransform: a ${current.height}x${current.width} image does not fit padTo ${options.padTo.height}x${options.padTo.width}`,
      );
    }
    current = padSample(current, options.padTo, options.fill);
  }
  return { ...current, validHeight, validWidth, originalHeight: sample.height, originalWidth: sample.width };
}
