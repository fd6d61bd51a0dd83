// Evaluation records (what `semseg eval --json` writes), their merge, and shard selection: no Node.
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
  type ShardCoverage,
  describePartial,
  evalRecord,
  inferenceRecord,
  mergeEvalRecords,
  mergedEvalRecord,
  metricsRecord,
} from './record.js';
export {
  SHARD_COUNT_VARIABLES,
  SHARD_INDEX_VARIABLES,
  type ShardEnvironment,
  parseShard,
} from './shard.js';
