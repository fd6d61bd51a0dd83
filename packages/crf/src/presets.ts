import type { Compatibility } from './compatibility.js';
import { DenseCRF2D } from './dense-crf-2d.js';
import type { DenseCrfOptions } from './dense-crf.js';
import { InputError } from './errors.js';
import { requireNonNegativeInteger } from './validate.js';

/** The settings of a 2-D CRF: a smoothness kernel, an appearance kernel and the iteration count. */
export interface CrfSettings {
  readonly gaussian: { readonly sxy: number | readonly [number, number]; readonly compat: Compatibility };
  readonly bilateral: {
    readonly sxy: number | readonly [number, number];
    readonly srgb: number | readonly [number, number, number];
    readonly compat: Compatibility;
  };
  readonly iterations: number;
}

/** The papers' settings. */
export const presets = {
  /** DeepLab v1 (Chen et al. 2015): bilateral w 4, sxy 121, srgb 5; Gaussian w 3, sxy 3; 10 iterations. */
  deeplabV1: {
    gaussian: { sxy: 3, compat: 3 },
    bilateral: { sxy: 121, srgb: 5, compat: 4 },
    iterations: 10,
  },
  /** DeepLab v2 VGG16 (Chen et al. 2017, the released test prototxt): bilateral w 4, sxy 65, srgb 3; Gaussian w 2, sxy 2; 10 iterations. */
  deeplabV2Vgg16: {
    gaussian: { sxy: 2, compat: 2 },
    bilateral: { sxy: 65, srgb: 3, compat: 4 },
    iterations: 10,
  },
  /** DeepLab v2 ResNet-101 (the released test prototxt): bilateral w 4, sxy 67, srgb 3; Gaussian w 3, sxy 1; 10 iterations. */
  deeplabV2Resnet101: {
    gaussian: { sxy: 1, compat: 3 },
    bilateral: { sxy: 67, srgb: 3, compat: 4 },
    iterations: 10,
  },
  /** DeconvNet (Noh et al. 2015): bilateral w 5, sxy 20, srgb 3; Gaussian w 3, sxy 3; 10 iterations. */
  deconvNet: {
    gaussian: { sxy: 3, compat: 3 },
    bilateral: { sxy: 20, srgb: 3, compat: 5 },
    iterations: 10,
  },
  /** pydensecrf's README example: bilateral w 10, sxy 80, srgb 13; Gaussian w 3, sxy 3; 5 iterations. */
  pydensecrfExample: {
    gaussian: { sxy: 3, compat: 3 },
    bilateral: { sxy: 80, srgb: 13, compat: 10 },
    iterations: 5,
  },
} as const satisfies Record<string, CrfSettings>;

export type PresetName = keyof typeof presets;

export interface CrfImageInput {
  width: number;
  height: number;
  labels: number;
  /** U = -log p, H x W x labels row-major. */
  unary: Float32Array;
  /** H x W x 3 RGB. */
  rgb: Uint8Array | Uint8ClampedArray;
}

/** Builds the CRF of `settings` (a preset name or settings) on an image, ready for inference. */
export function createDenseCrf(
  input: CrfImageInput,
  settings: CrfSettings | PresetName = 'deeplabV1',
  options: DenseCrfOptions = {},
): DenseCRF2D {
  const resolved = resolveSettings(settings);
  const crf = new DenseCRF2D(input.width, input.height, input.labels, options);
  crf.setUnaryEnergy(input.unary);
  crf.addPairwiseGaussian(resolved.gaussian);
  crf.addPairwiseBilateral({ ...resolved.bilateral, rgb: input.rgb });
  return crf;
}

/** One call: the CRF of `settings` on an image, its Q after the settings' iterations and the MAP labels. */
export function runDenseCrf(
  input: CrfImageInput,
  settings: CrfSettings | PresetName = 'deeplabV1',
  options: DenseCrfOptions = {},
): { q: Float32Array; labels: Uint8Array } {
  const resolved = resolveSettings(settings);
  const crf = createDenseCrf(input, resolved, options);
  const q = crf.inference(resolved.iterations);
  return { q, labels: crf.map(q) };
}

export function resolveSettings(settings: CrfSettings | PresetName): CrfSettings {
  if (typeof settings === 'string') {
    if (!Object.hasOwn(presets, settings)) {
      throw new InputError(
        'settings',
        `unknown preset '${settings}'; one of ${Object.keys(presets).join(', ')}`,
      );
    }
    return presets[settings];
  }
  if (settings === null || typeof settings !== 'object' || !settings.gaussian || !settings.bilateral) {
    throw new InputError('settings', 'must be a preset name or { gaussian, bilateral, iterations }');
  }
  requireNonNegativeInteger('settings.iterations', settings.iterations);
  return settings;
}
