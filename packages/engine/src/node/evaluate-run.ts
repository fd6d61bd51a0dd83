import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type ArchitectureSpec,
  type CheckpointMeta,
  InputError,
  type Normalization,
  type SegmentationModel,
} from '@semseg/core';
import { loadCheckpoint } from '@semseg/core/node';
import type { ShardSpec } from '@semseg/voc-data';
import { type SegmentationDataset, openVocDataset } from '@semseg/voc-data/node';
import {
  type EvalScores,
  type MergeOptions,
  type MergedEvaluation,
  mergeEvalRecords,
} from '../eval/record.js';
import { Evaluator } from '../evaluate.js';
import { modelFromCheckpoint } from '../model.js';
import type { CrfOption, InferenceOptions } from '../types.js';
import { evaluateOnReplicas } from './parallel/evaluate.js';
import { effectiveThreads, requirePlugins } from './parallel/index.js';
import { ReplicaPool } from './parallel/pool.js';

export interface EvaluationSummary extends EvalScores {
  /** Mean milliseconds per image by stage. */
  timings: { network: number; crf?: number };
}

export interface DatasetEvaluationOptions extends Omit<InferenceOptions, 'normalization'> {
  normalization: Normalization;
  crf?: CrfOption | null;
  onImage?: (done: number, total: number, id: string) => void;
  /** Replica threads holding copies of `model`: images are spread over them (same scores). */
  replicas?: ReplicaPool;
  /**
   * Or threads to start for this evaluation (wasm and cpu backends), with the model's registered
   * `architecture` and the `plugins` that register it in a fresh thread.
   */
  threads?: number;
  plugins?: readonly string[];
  architecture?: ArchitectureSpec;
}

/** Evaluates a model on every image of a dataset split (or shard), with and without the CRF. */
export async function evaluateDataset(
  model: SegmentationModel,
  dataset: SegmentationDataset,
  options: DatasetEvaluationOptions,
): Promise<EvaluationSummary> {
  if (options.replicas) return evaluateInParallel(options.replicas, dataset, options);
  const threads = Math.min(effectiveThreads(options.threads), Math.max(1, dataset.ids.length));
  if (threads > 1 && options.architecture) {
    const pool = await ReplicaPool.start({
      threads,
      model,
      architecture: options.architecture,
      plugins: requirePlugins(options, options.architecture),
    });
    try {
      return await evaluateInParallel(pool, dataset, options);
    } finally {
      await pool.close();
    }
  }
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

async function evaluateInParallel(
  pool: ReplicaPool,
  dataset: SegmentationDataset,
  options: DatasetEvaluationOptions,
): Promise<EvaluationSummary> {
  const { replicas: _r, threads: _t, plugins: _p, architecture: _a, onImage, ...inference } = options;
  const result = await evaluateOnReplicas(pool, dataset, inference, onImage);
  const total = dataset.ids.length;
  const summary: EvaluationSummary = {
    images: total,
    matrix: result.matrix.toJSON(),
    metrics: result.matrix.compute(),
    timings: { network: total ? result.network / total : 0 },
  };
  if (result.crfMatrix) {
    summary.crfMatrix = result.crfMatrix.toJSON();
    summary.crfMetrics = result.crfMatrix.compute();
    summary.timings.crf = total ? result.crf / total : 0;
  }
  return summary;
}

export interface EvaluationRunOptions
  extends Omit<DatasetEvaluationOptions, 'normalization' | 'replicas' | 'architecture'> {
  /** Checkpoint folder (or its model.json). */
  checkpoint: string;
  data: string;
  split?: string;
  shard?: ShardSpec;
}

/** Loads a checkpoint's model (its package must be imported) and evaluates it on a split. */
export async function runEvaluation(
  options: EvaluationRunOptions,
): Promise<EvaluationSummary & { meta: CheckpointMeta; checkpointSha256: string }> {
  const checkpoint = await loadCheckpoint(options.checkpoint);
  const hash = await checkpointSha256(checkpoint.files.modelJson);
  const { model, meta } = modelFromCheckpoint(checkpoint, checkpoint.files.modelJson);
  try {
    const dataset = await openVocDataset(options.data, {
      split: options.split ?? 'val',
      classes: meta.classes,
      palette: meta.palette,
      ...(options.shard ? { shard: options.shard } : {}),
    });
    const summary = await evaluateDataset(model, dataset, {
      ...options,
      normalization: meta.normalization,
      architecture: meta.architecture,
    });
    return { ...summary, meta, checkpointSha256: hash };
  } finally {
    model.dispose();
  }
}

/**
 * A checkpoint's content hash, what evaluation records carry so that a merge can tell shards of
 * one checkpoint from another's: model.json's `weightsSha256` (core records it), or, for
 * checkpoints written before it did, the SHA-256 of model.json followed by its weights file.
 */
export async function checkpointSha256(modelJson: string): Promise<string> {
  const text = await readFile(modelJson, 'utf8');
  const json = JSON.parse(text) as { weightsSha256?: unknown; weightsManifest?: Array<{ paths?: string[] }> };
  if (typeof json.weightsSha256 === 'string') return json.weightsSha256;
  const weights = json.weightsManifest?.[0]?.paths?.[0] ?? 'weights.bin';
  return createHash('sha256')
    .update(text)
    .update(await readFile(join(dirname(modelJson), weights)))
    .digest('hex');
}

/** Reads an evaluation record file (`semseg eval --json`): a missing or unparsable file is an InputError naming it. */
export async function readEvalRecordFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError('shard JSON not found', file);
    if (code === 'EISDIR') throw new InputError('shard JSON is a folder, expected a file', file);
    throw new InputError(`shard JSON cannot be read (${code ?? String(error)})`, file);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`shard JSON is not valid JSON (${(error as Error).message})`, file);
  }
}

/** Reads shard record files and sums them (see `mergeEvalRecords`). */
export async function mergeEvalFiles(
  files: readonly string[],
  options: MergeOptions = {},
): Promise<MergedEvaluation> {
  const records = await Promise.all(
    files.map(async (file) => ({ file, value: await readEvalRecordFile(file) })),
  );
  return mergeEvalRecords(records, options);
}
