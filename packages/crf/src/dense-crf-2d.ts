import type { Compatibility } from './compatibility.js';
import { DenseCRF, type DenseCrfOptions } from './dense-crf.js';
import { InputError } from './errors.js';
import { bilateralFeatures, gaussianFeatures } from './features.js';
import type { Normalization } from './pairwise-filter.js';
import { perAxis, requireLength, requirePositiveInteger } from './validate.js';

export interface GaussianOptions {
  /** Spatial width in pixels: one number or [sx, sy]. */
  sxy: number | readonly [number, number];
  compat: Compatibility;
  normalization?: Normalization;
}

export interface BilateralOptions {
  /** Spatial width in pixels: one number or [sx, sy]. */
  sxy: number | readonly [number, number];
  /** Colour width: one number or [sr, sg, sb]. */
  srgb: number | readonly [number, number, number];
  /** The image, H x W x 3 row-major RGB (e.g. ImageData.data with alpha dropped). */
  rgb: Uint8Array | Uint8ClampedArray;
  compat: Compatibility;
  normalization?: Normalization;
}

/** The CRF on a width x height image grid, pixel (x, y) at index y * width + x. */
export class DenseCRF2D extends DenseCRF {
  readonly width: number;
  readonly height: number;

  constructor(width: number, height: number, labels: number, options: DenseCrfOptions = {}) {
    requirePositiveInteger('width', width);
    requirePositiveInteger('height', height);
    super(width * height, labels, options);
    this.width = width;
    this.height = height;
  }

  /** Smoothness kernel on position: features (x / sx, y / sy). */
  addPairwiseGaussian(options: GaussianOptions): void {
    if (options === null || typeof options !== 'object') throw new InputError('options', 'must be an object');
    const [sx, sy] = perAxis('sxy', options.sxy, 2);
    this.addPairwiseFeatures(gaussianFeatures(this.width, this.height, sx, sy), options);
  }

  /** Appearance kernel on position and colour: features (x / sx, y / sy, r / sr, g / sg, b / sb). */
  addPairwiseBilateral(options: BilateralOptions): void {
    if (options === null || typeof options !== 'object') throw new InputError('options', 'must be an object');
    const [sx, sy] = perAxis('sxy', options.sxy, 2);
    const [sr, sg, sb] = perAxis('srgb', options.srgb, 3);
    const rgb = options.rgb;
    if (!(rgb instanceof Uint8Array || rgb instanceof Uint8ClampedArray)) {
      throw new InputError('rgb', 'must be a Uint8Array or Uint8ClampedArray (H x W x 3 RGB)');
    }
    if (rgb.length === this.points * 4) {
      throw new InputError(
        'rgb',
        `has 4 bytes per pixel (RGBA?); pass rgbaToRgb(data) for ${this.points * 3} RGB bytes`,
      );
    }
    requireLength('rgb', rgb, this.points * 3, `${this.height} x ${this.width} x 3 RGB bytes`);
    this.addPairwiseFeatures(bilateralFeatures(this.width, this.height, sx, sy, [sr, sg, sb], rgb), options);
  }
}
