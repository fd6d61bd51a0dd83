import type { EvaluationSummary } from '@semseg/engine/node';
import {
  ConfusionMatrix,
  type ConfusionMatrixJSON,
  type SegmentationMetrics,
  formatClassTable,
  formatSummaryTable,
} from '@semseg/metrics';
import { z } from 'zod';
import { UsageError } from '../errors.js';

export const EVAL_FORMAT = 'semseg-eval';

/** The scores users read, as fractions (0..1); NaN (a class absent from both) is written as null. */
export function metricsRecord(metrics: SegmentationMetrics, classes: readonly string[]) {
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

/** What `semseg eval --json` writes; the matrices make shards mergeable. */
export interface EvalRecord {
  format: typeof EVAL_FORMAT;
  version: 1;
  checkpoint?: string;
  split?: string;
  shard?: { index: number; count: number };
  mergedFrom?: number;
  images: number;
  classes: string[];
  metrics: ReturnType<typeof metricsRecord>;
  matrix: ConfusionMatrixJSON;
  crf?: { settings: unknown; metrics: ReturnType<typeof metricsRecord>; matrix: ConfusionMatrixJSON };
}

export function evalRecord(
  summary: EvaluationSummary,
  classes: readonly string[],
  extra: {
    checkpoint?: string;
    split?: string;
    shard?: { index: number; count: number };
    crfSettings?: unknown;
  },
): EvalRecord {
  return {
    format: EVAL_FORMAT,
    version: 1,
    ...(extra.checkpoint ? { checkpoint: extra.checkpoint } : {}),
    ...(extra.split ? { split: extra.split } : {}),
    ...(extra.shard ? { shard: extra.shard } : {}),
    images: summary.images,
    classes: [...classes],
    metrics: metricsRecord(summary.metrics, classes),
    matrix: summary.matrix,
    ...(summary.crfMatrix && summary.crfMetrics
      ? {
          crf: {
            settings: extra.crfSettings,
            metrics: metricsRecord(summary.crfMetrics, classes),
            matrix: summary.crfMatrix,
          },
        }
      : {}),
  };
}

const shardFileSchema = z
  .object({
    format: z.literal(EVAL_FORMAT),
    version: z.literal(1),
    images: z.number().int().min(0),
    classes: z.array(z.string()),
    shard: z.object({ index: z.number().int(), count: z.number().int() }).optional(),
    matrix: z.unknown(),
    crf: z.object({ settings: z.unknown(), matrix: z.unknown() }).passthrough().optional(),
  })
  .passthrough();

/**
 * Sums shards' confusion matrices: the metrics of the sum are exactly those of one pass over all
 * images. Refuses files of other formats, other class lists, repeated shards or mixed CRF use.
 */
export function mergeEvalRecords(records: ReadonlyArray<{ file: string; value: unknown }>): {
  images: number;
  classes: string[];
  matrix: ConfusionMatrix;
  crfMatrix: ConfusionMatrix | null;
  crfSettings: unknown;
} {
  if (records.length === 0) throw new UsageError('--merge needs at least one shard JSON file');
  let classes: string[] | null = null;
  let images = 0;
  let matrix: ConfusionMatrix | null = null;
  let crfMatrix: ConfusionMatrix | null = null;
  let crfSettings: unknown;
  const seenShards = new Set<string>();
  records.forEach(({ file, value }, i) => {
    const parsed = shardFileSchema.safeParse(value);
    if (!parsed.success) {
      throw new UsageError(
        `${file}: not a 'semseg eval --json' file (${parsed.error.issues[0]?.path.join('.') || 'format'}: ${parsed.error.issues[0]?.message})`,
      );
    }
    const record = parsed.data;
    if (classes === null) classes = record.classes;
    else if (record.classes.join('\n') !== classes.join('\n'))
      throw new UsageError(`${file}: its classes differ from ${records[0]!.file}'s`);
    if (record.shard) {
      const key = `${record.shard.index}/${record.shard.count}`;
      if (seenShards.has(key)) throw new UsageError(`${file}: shard ${key} is given twice`);
      seenShards.add(key);
    }
    const m = ConfusionMatrix.fromJSON(record.matrix);
    matrix = matrix ? matrix.merge(m) : m;
    if (i > 0 && (record.crf !== undefined) !== (crfMatrix !== null)) {
      throw new UsageError(`${file}: some shards were scored with --crf and some without`);
    }
    if (record.crf) {
      const c = ConfusionMatrix.fromJSON(record.crf.matrix);
      crfMatrix = crfMatrix ? crfMatrix.merge(c) : c;
      crfSettings = record.crf.settings;
    }
    images += record.images;
  });
  return { images, classes: classes!, matrix: matrix!, crfMatrix, crfSettings };
}

/** The per-class table and the summary, as text (terminal) or Markdown (reports). */
export function formatMetrics(
  metrics: SegmentationMetrics,
  classes: readonly string[],
  style: 'text' | 'markdown',
): string {
  return `${formatClassTable(metrics, { classNames: classes, style, columns: ['iou', 'accuracy'] })}\n\n${formatSummaryTable(metrics, { style })}`;
}
