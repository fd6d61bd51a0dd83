// Evaluation records (what `semseg eval --json` writes), their merge, and shard selection: no Node.
export {
  EVAL_FORMAT,
  EVAL_VERSION,
  type EvalRecord,
  type EvalScores,
  type MergedEvaluation,
  type MetricsRecord,
  evalRecord,
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
