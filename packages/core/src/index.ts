export {
  AUTO_BACKEND_ORDER,
  type BackendLoader,
  type BackendPreference,
  type BackendSelection,
  type BackendUnavailable,
  type KnownBackend,
  type SkippedBackend,
  describeLoadError,
  selectBackend,
} from './backend.js';
export { patchWasmKernels } from './wasm-kernels.js';
export { CONV_WINDOWS, type ConvWindowsAttrs, hasConvWindows } from './wasm-windows.js';
export {
  WINOGRAD_GRADIENT,
  WINOGRAD_INPUT,
  WINOGRAD_OUTPUT,
  type WinogradAttrs,
  hasWinogradTransforms,
  withoutWinogradTransforms,
} from './wasm-winograd.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointJson,
  type CheckpointMeta,
  type DecodedCheckpoint,
  type EncodedCheckpoint,
  MODEL_JSON,
  OPTIMIZER_PREFIX,
  type TrainingState,
  WEIGHTS_BIN,
  applyCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  manifestByteLength,
  parseCheckpointJson,
} from './checkpoint.js';
export {
  BackendError,
  CheckpointError,
  ConfigError,
  InputError,
  SemsegError,
  type ShapeMismatch,
  StateDictError,
} from './errors.js';
export {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  Module,
  type ParameterEntry,
  type ParameterOptions,
  type StateDict,
} from './module.js';
export type {
  LossReduction,
  LrPolicy,
  ModelPlugin,
  OptimizerConfig,
  ParameterGroup,
  PixelWeightInput,
  PretrainedInit,
  PretrainedReport,
  TensorLayout,
  TensorSource,
  TrainingOutput,
  TrainPreset,
  WeightNameMap,
  WeightsInput,
} from './plugin.js';
export {
  type ModelContext,
  type ModelDefinition,
  type SegmentationModel,
  createModel,
  getModelDefinition,
  getTrainPreset,
  listModels,
  listTrainPresets,
  registerModel,
  registerTrainPreset,
  validateModelConfig,
} from './registry.js';
export { Rng, type RngState } from './rng.js';
export {
  type ArchitectureSpec,
  CAFFE_VGG_NORMALIZATION,
  IGNORE_INDEX,
  IMAGENET_NORMALIZATION,
  type Normalization,
  type Rgb,
} from './types.js';
