export type { Compatibility } from './compatibility.js';
export { DenseCRF2D, type BilateralOptions, type GaussianOptions } from './dense-crf-2d.js';
export { DenseCRF, type DenseCrfOptions, type InferenceState, type PairwiseOptions } from './dense-crf.js';
export { InputError } from './errors.js';
export { argmaxLabels } from './map.js';
export { prepareWasm, type PrepareWasmOptions } from './wasm/prepare.js';
export { releaseSpareMemory as releaseWasmMemory } from './wasm/runtime.js';
export { rgbaToRgb } from './rgb.js';
export type { Normalization } from './pairwise-filter.js';
export {
  createDenseCrf,
  presets,
  runDenseCrf,
  type CrfImageInput,
  type CrfSettings,
  type PresetName,
} from './presets.js';
export {
  unaryFromLabels,
  unaryFromProbabilities,
  type FromLabelsOptions,
  type FromProbabilitiesOptions,
} from './unary.js';
