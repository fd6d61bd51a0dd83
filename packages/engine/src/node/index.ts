// Node-only parts of @semseg/engine: runs over datasets and checkpoints on disk.
export {
  type DatasetEvaluationOptions,
  type EvaluationRunOptions,
  type EvaluationSummary,
  checkpointSha256,
  evaluateDataset,
  mergeEvalFiles,
  readEvalRecordFile,
  runEvaluation,
} from './evaluate-run.js';
export {
  FINAL,
  LATEST,
  type TrainEvent,
  type TrainRunOptions,
  type TrainRunResult,
  openTrainingSplit,
  readTrainLog,
  runTraining,
} from './train-run.js';
export { type RunRecord, settingsFromRun, toRunOptions } from './train/options.js';
export { resolveCheckpointPath } from './train/model-setup.js';
export { loadModel } from './load-model.js';
export {
  ParallelTrainer,
  type ParallelTrainerOptions,
  ReplicaError,
  ReplicaPool,
  type ReplicaPoolOptions,
  type ThreadsOptions,
  closeTrainer,
  createTrainer,
  effectiveThreads,
  evaluateOnReplicas,
  replicaBackend,
} from './parallel/index.js';
