import { InputError } from '@semseg/core';
import { ConfusionMatrix, type ConfusionMatrixJSON, type SegmentationMetrics } from '@semseg/metrics';
import type { ShardSpec } from '@semseg/voc-data';
import { z } from 'zod';

/** The `format` field of an evaluation record (what `semseg eval --json` writes). */
export const EVAL_FORMAT = 'semseg-eval';
export const EVAL_VERSION = 1;

/** The scores users read, as fractions (0..1); NaN (a class absent from both) is null. */
export interface MetricsRecord {
  mIoU: number | null;
  mAcc: number | null;
  aAcc: number | null;
  fwIoU: number | null;
  perClass: Array<{ class: string; iou: number | null; acc: number | null }>;
}

/** One evaluation (a whole split, a shard, or merged shards); the matrices make shards mergeable. */
export interface EvalRecord {
  format: typeof EVAL_FORMAT;
  version: typeof EVAL_VERSION;
  checkpoint?: string;
  split?: string;
  shard?: ShardSpec;
  mergedFrom?: number;
  images: number;
  classes: string[];
  metrics: MetricsRecord;
  matrix: ConfusionMatrixJSON;
  crf?: { settings: unknown; metrics: MetricsRecord; matrix: ConfusionMatrixJSON };
}

/** What an evaluation measured: the network's matrix and, with a CRF, the refined labels' matrix. */
export interface EvalScores {
  images: number;
  matrix: ConfusionMatrixJSON;
  metrics: SegmentationMetrics;
  crfMatrix?: ConfusionMatrixJSON;
  crfMetrics?: SegmentationMetrics;
}

export function metricsRecord(metrics: SegmentationMetrics, classes: readonly string[]): MetricsRecord {
  const value = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    mIoU: value(metrics.meanIoU),
    mAcc: value(metrics.meanAccuracy),
    aAcc: value(metrics.pixelAccuracy),
    fwIoU: value(metrics.fwIoU),
    perClass: metrics.perClass.map((m, i) => ({
      class: classes[i] ?? `class ${i}`,
      iou: value(m.iou),
      acc: value(m.accuracy),
    })),
  };
}

/** The record of one evaluation run (a split or one shard of it). */
export function evalRecord(
  scores: EvalScores,
  classes: readonly string[],
  extra: { checkpoint?: string; split?: string; shard?: ShardSpec; crfSettings?: unknown } = {},
): EvalRecord {
  return {
    format: EVAL_FORMAT,
    version: EVAL_VERSION,
    ...(extra.checkpoint ? { checkpoint: extra.checkpoint } : {}),
    ...(extra.split ? { split: extra.split } : {}),
    ...(extra.shard ? { shard: { index: extra.shard.index, count: extra.shard.count } } : {}),
    images: scores.images,
    classes: [...classes],
    metrics: metricsRecord(scores.metrics, classes),
    matrix: scores.matrix,
    ...(scores.crfMatrix && scores.crfMetrics
      ? {
          crf: {
            settings: extra.crfSettings,
            metrics: metricsRecord(scores.crfMetrics, classes),
            matrix: scores.crfMatrix,
          },
        }
      : {}),
  };
}

const shardRecordSchema = z
  .object({
    format: z.literal(EVAL_FORMAT),
    version: z.literal(EVAL_VERSION),
    images: z.number().int().min(0),
    classes: z.array(z.string()),
    shard: z.object({ index: z.number().int(), count: z.number().int() }).optional(),
    matrix: z.unknown(),
    crf: z.object({ settings: z.unknown(), matrix: z.unknown() }).passthrough().optional(),
  })
  .passthrough();

/** Shards summed: the matrices (and metrics computed from them) of one pass over all their images. */
export interface MergedEvaluation {
  files: number;
  images: number;
  classes: string[];
  matrix: ConfusionMatrix;
  crfMatrix: ConfusionMatrix | null;
  crfSettings: unknown;
}

/**
 * Sums shards' confusion matrices: the metrics of the sum are exactly those of one pass over all
 * images. Refuses records of other formats, other class lists, repeated shards or mixed CRF use,
 * with an InputError naming the file.
 */
export function mergeEvalRecords(records: ReadonlyArray<{ file: string; value: unknown }>): MergedEvaluation {
  if (records.length === 0) throw new InputError('no shard records to merge');
  let classes: string[] | null = null;
  let images = 0;
  let matrix: ConfusionMatrix | null = null;
  let crfMatrix: ConfusionMatrix | null = null;
  let crfSettings: unknown;
  const seenShards = new Set<string>();
  records.forEach(({ file, value }, i) => {
    const parsed = shardRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(
        `not a 'semseg eval --json' file (${issue?.path.join('.') || 'format'}: ${issue?.message})`,
        file,
      );
    }
    const record = parsed.data;
    if (classes === null) classes = record.classes;
    else if (record.classes.join('\n') !== classes.join('\n'))
      throw new InputError(`its classes differ from ${records[0]!.file}'s`, file);
    if (record.shard) {
      const key = `${record.shard.index}/${record.shard.count}`;
      if (seenShards.has(key)) throw new InputError(`shard ${key} is given twice`, file);
      seenShards.add(key);
    }
    const m = ConfusionMatrix.fromJSON(record.matrix);
    matrix = matrix ? matrix.merge(m) : m;
    if (i > 0 && (record.crf !== undefined) !== (crfMatrix !== null)) {
      throw new InputError('some shards were scored with the CRF and some without', file);
    }
    if (record.crf) {
      const c = ConfusionMatrix.fromJSON(record.crf.matrix);
      crfMatrix = crfMatrix ? crfMatrix.merge(c) : c;
      crfSettings = record.crf.settings;
    }
    images += record.images;
  });
  return { files: records.length, images, classes: classes!, matrix: matrix!, crfMatrix, crfSettings };
}

/** The record of merged shards, in the same format (so merges merge again). */
export function mergedEvalRecord(merged: MergedEvaluation): EvalRecord {
  const metrics = merged.matrix.compute();
  const crfMetrics = merged.crfMatrix?.compute();
  return {
    format: EVAL_FORMAT,
    version: EVAL_VERSION,
    mergedFrom: merged.files,
    images: merged.images,
    classes: merged.classes,
    metrics: metricsRecord(metrics, merged.classes),
    matrix: merged.matrix.toJSON(),
    ...(merged.crfMatrix && crfMetrics
      ? {
          crf: {
            settings: merged.crfSettings,
            metrics: metricsRecord(crfMetrics, merged.classes),
            matrix: merged.crfMatrix.toJSON(),
          },
        }
      : {}),
  };
}
