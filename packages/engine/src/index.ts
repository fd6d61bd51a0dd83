export {
  EVAL_FORMAT,
  EVAL_VERSION,
  type EvalRecord,
  type EvalScores,
  type InferenceRecord,
  type MergeOptions,
  type MergedEvaluation,
  type MetricsRecord,
  type PartialMerge,
  SHARD_COUNT_VARIABLES,
  SHARD_INDEX_VARIABLES,
  type ShardCoverage,
  type ShardEnvironment,
  describePartial,
  evalRecord,
  inferenceRecord,
  mergeEvalRecords,
  mergedEvalRecord,
  metricsRecord,
  parseShard,
} from './eval/index.js';
export { Evaluator, type EvaluationOptions } from './evaluate.js';
export { CRF_PRESETS, DEFAULT_CRF_PRESET, crfPresetFor, refineWithCrf } from './inference/crf.js';
export {
  EnsembleModel,
  type EnsembleMember,
  RAW_PIXELS,
  averagePredictions,
  predictEnsembleAsync,
} from './inference/ensemble.js';
export { argmaxLabels, normalizedTensor, predictImage, predictImageAsync } from './inference/predict.js';
export { type AsyncForward, type InferenceModel, runsAsync } from './inference/network-pass.js';
export {
  type Box,
  type ProposalOptions,
  type ProposalPrediction,
  type ProposalScores,
  aggregateProposals,
  boxesFromLabels,
  enlargeBox,
  parseProposalBoxes,
  predictWithProposals,
} from './inference/proposals.js';
export { type OverlapTileOptions, overlapTileLogits, shrinksInput } from './inference/overlap-tile.js';
export { windowStarts } from './inference/windows.js';
export { modelFromCheckpoint } from './model.js';
export {
  type OptimizerConfig,
  ParameterOptimizer,
  type ParameterGroupOf,
  defaultParameterGroup,
} from './train/optimizer.js';
export { type RecipeEntry, type RecipeInput, describeRecipe, formatRecipe } from './train/recipe.js';
export { type LrSchedule, learningRate } from './train/schedule.js';
export {
  type ResolvedSettings,
  type SettingOrigin,
  type SettingsLayer,
  TRAIN_DEFAULTS,
  type TrainSettingKey,
  type TrainSettings,
  checkStagedStart,
  parseTrainSettings,
  presetSettings,
  resolveTrainSettings,
  trainSettingsSchema,
} from './train/settings.js';
export { NonFiniteLossError, type StepResult, Trainer, type TrainerOptions } from './train/trainer.js';
export type { CrfOption, CrfRefined, InferenceOptions, Prediction, RgbImage } from './types.js';
export {
  type ImportReport,
  candidateMaps,
  exportTensors,
  exportWeights,
  importWeights,
  numClassesInFile,
  parameterShapes,
  readWeightsInput,
} from './weights/index.js';
