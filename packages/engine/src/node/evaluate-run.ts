import type { CheckpointMeta, Normalization, SegmentationModel } from '@semseg/core';
import { loadCheckpoint } from '@semseg/core/node';
import type { ConfusionMatrixJSON, SegmentationMetrics } from '@semseg/metrics';
import type { ShardSpec } from '@semseg/voc-data';
import { type SegmentationDataset, openVocDataset } from '@semseg/voc-data/node';
import { Evaluator } from '../evaluate.js';
import { modelFromCheckpoint } from '../model.js';
import type { CrfOption, InferenceOptions } from '../types.js';

export interface EvaluationSummary {
  images: number;
  matrix: ConfusionMatrixJSON;
  metrics: SegmentationMetrics;
  crfMatrix?: ConfusionMatrixJSON;
  crfMetrics?: SegmentationMetrics;
  /** Mean milliseconds per image by stage. */
  timings: { network: number; crf?: number };
}

export interface DatasetEvaluationOptions extends Omit<InferenceOptions, 'normalization'> {
  normalization: Normalization;
  crf?: CrfOption | null;
  onImage?: (done: number, total: number, id: string) => void;
}

/** Evaluates a model on every image of a dataset split (or shard), with and without the CRF. */
export async function evaluateDataset(
  model: SegmentationModel,
  dataset: SegmentationDataset,
  options: DatasetEvaluationOptions,
): Promise<EvaluationSummary> {
  const evaluator = new Evaluator(model, options);
  let network = 0;
  let crf = 0;
  const total = dataset.ids.length;
  for (let i = 0; i < total; i++) {
    const sample = await dataset.read(i);
    const { prediction } = await evaluator.add(
      { width: sample.width, height: sample.height, data: sample.image },
      sample.label,
    );
    network += prediction.timings.network + prediction.timings.preprocess;
    crf += prediction.timings.crf ?? 0;
    options.onImage?.(i + 1, total, sample.id);
  }
  const summary: EvaluationSummary = {
    images: total,
    matrix: evaluator.matrix.toJSON(),
    metrics: evaluator.matrix.compute(),
    timings: { network: total ? network / total : 0 },
  };
  if (evaluator.crfMatrix) {
    summary.crfMatrix = evaluator.crfMatrix.toJSON();
    summary.crfMetrics = evaluator.crfMatrix.compute();
    summary.timings.crf = total ? crf / total : 0;
  }
  return summary;
}

export interface EvaluationRunOptions extends Omit<DatasetEvaluationOptions, 'normalization'> {
  /** Checkpoint folder (or its model.json). */
  checkpoint: string;
  data: string;
  split?: string;
  shard?: ShardSpec;
}

/** Loads a checkpoint's model (its package must be imported) and evaluates it on a split. */
export async function runEvaluation(
  options: EvaluationRunOptions,
): Promise<EvaluationSummary & { meta: CheckpointMeta }> {
  const checkpoint = await loadCheckpoint(options.checkpoint);
  const { model, meta } = modelFromCheckpoint(checkpoint, checkpoint.files.modelJson);
  try {
    const dataset = await openVocDataset(options.data, {
      split: options.split ?? 'val',
      classes: meta.classes,
      palette: meta.palette,
      ...(options.shard ? { shard: options.shard } : {}),
    });
    const summary = await evaluateDataset(model, dataset, { ...options, normalization: meta.normalization });
    return { ...summary, meta };
  } finally {
    model.dispose();
  }
}
