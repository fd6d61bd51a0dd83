// Node-only parts of @semseg/engine: runs over datasets and checkpoints on disk.
export {
  type DatasetEvaluationOptions,
  type EvaluationRunOptions,
  type EvaluationSummary,
  evaluateDataset,
  runEvaluation,
} from './evaluate-run.js';
export {
  FINAL,
  LATEST,
  type TrainEvent,
  type TrainRunOptions,
  type TrainRunResult,
  readTrainLog,
  runTraining,
} from './train-run.js';
export { loadModel } from './load-model.js';
