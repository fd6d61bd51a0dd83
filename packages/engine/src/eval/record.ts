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

/**
 * The inference settings that change an evaluation's numbers (not speed settings such as the
 * window batch), with the engine's defaults filled in so that equal settings compare equal.
 */
export interface InferenceRecord {
  mode: 'whole' | 'slide';
  crop?: [number, number];
  stride?: [number, number];
  scales: number[];
  flip: boolean;
  /** Proposal-wise inference: 'auto', or the boxes file's SHA-256. */
  proposals?: string;
  /**
   * What ran the network: tfjs, or onnxruntime on the exported graph (probabilities agree to
   * 1e-4, not bit for bit, so shards of the two do not merge). Records written before semseg
   * recorded it lack it; they were tfjs.
   */
  runtime?: InferenceRuntime;
}

export type InferenceRuntime = 'tfjs' | 'onnx';

/** Which shards of how many a record covers (a merged record covers several). */
export interface ShardCoverage {
  count: number;
  indices: number[];
}

/** What a partial merge lacks: shards not given, records that could not be checked. */
export interface PartialMerge {
  missingShards: number[];
  unverified: Array<{ file: string; lacks: string[] }>;
}

/** One evaluation (a whole split, a shard, or merged shards); the matrices make shards mergeable. */
export interface EvalRecord {
  format: typeof EVAL_FORMAT;
  version: typeof EVAL_VERSION;
  checkpoint?: string;
  /**
   * A content hash per checkpoint (several for an ensemble): model.json's `weightsSha256`, or
   * for checkpoints that record none the SHA-256 of model.json and weights.bin together. Records
   * written before semseg recorded it lack it; a merge cannot check them.
   */
  checkpointSha256?: string[];
  split?: string;
  inference?: InferenceRecord;
  shard?: ShardSpec;
  /** A merged record: the shards it sums. */
  shards?: ShardCoverage;
  mergedFrom?: number;
  /** Present when the merge lacked shards or could not check some records. */
  partial?: PartialMerge;
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

/**
 * The settings of `InferenceOptions` that change the numbers, defaults filled in as the engine's
 * inference fills them (window 512, stride two thirds of it, scale 1, no flip).
 */
export function inferenceRecord(
  options: {
    mode?: 'whole' | 'slide';
    crop?: readonly [number, number];
    stride?: readonly [number, number];
    scales?: readonly number[];
    flip?: boolean;
  },
  proposals?: string,
  runtime: InferenceRuntime = 'tfjs',
): InferenceRecord {
  const mode = options.mode ?? 'whole';
  const record: InferenceRecord = {
    mode,
    scales: [...(options.scales ?? [1])],
    flip: Boolean(options.flip),
    runtime,
  };
  if (mode === 'slide') {
    const crop = options.crop ?? [512, 512];
    const stride = options.stride ?? [
      Math.max(1, Math.round((crop[0] * 2) / 3)),
      Math.max(1, Math.round((crop[1] * 2) / 3)),
    ];
    record.crop = [crop[0], crop[1]];
    record.stride = [stride[0], stride[1]];
  }
  if (proposals !== undefined) record.proposals = proposals;
  return record;
}

/** The record of one evaluation run (a split or one shard of it). */
export function evalRecord(
  scores: EvalScores,
  classes: readonly string[],
  extra: {
    checkpoint?: string;
    checkpointSha256?: readonly string[];
    split?: string;
    inference?: InferenceRecord;
    shard?: ShardSpec;
    crfSettings?: unknown;
  } = {},
): EvalRecord {
  return {
    format: EVAL_FORMAT,
    version: EVAL_VERSION,
    ...(extra.checkpoint ? { checkpoint: extra.checkpoint } : {}),
    ...(extra.checkpointSha256 ? { checkpointSha256: [...extra.checkpointSha256] } : {}),
    ...(extra.split ? { split: extra.split } : {}),
    ...(extra.inference ? { inference: extra.inference } : {}),
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

const pair = z.tuple([z.number(), z.number()]);
const shardRecordSchema = z
  .object({
    format: z.literal(EVAL_FORMAT),
    version: z.literal(EVAL_VERSION),
    images: z.number().int().min(0),
    classes: z.array(z.string()),
    checkpoint: z.string().optional(),
    checkpointSha256: z.array(z.string()).min(1).optional(),
    split: z.string().optional(),
    inference: z
      .object({
        mode: z.enum(['whole', 'slide']),
        crop: pair.optional(),
        stride: pair.optional(),
        scales: z.array(z.number()),
        flip: z.boolean(),
        proposals: z.string().optional(),
        runtime: z.enum(['tfjs', 'onnx']).optional(),
      })
      .optional(),
    shard: z.object({ index: z.number().int().min(0), count: z.number().int().min(1) }).optional(),
    shards: z
      .object({ count: z.number().int().min(1), indices: z.array(z.number().int().min(0)) })
      .optional(),
    mergedFrom: z.number().int().optional(),
    partial: z
      .object({
        missingShards: z.array(z.number().int()),
        unverified: z.array(z.object({ file: z.string(), lacks: z.array(z.string()) })),
      })
      .optional(),
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
  checkpoint?: string;
  checkpointSha256?: string[];
  split?: string;
  inference?: InferenceRecord;
  /** The shards summed (sorted). */
  shards: ShardCoverage;
  /** Null when every shard is there and every record was checked. */
  partial: PartialMerge | null;
}

export interface MergeOptions {
  /** Merge even when shards are missing or records lack what the checks need (the result says partial). */
  allowPartial?: boolean;
}

/** JSON with sorted keys, so that equal settings compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function describeHashes(hashes: readonly string[]): string {
  return hashes.map((h) => `sha256 ${h.slice(0, 12)}`).join(' + ');
}

/** A message for a partial merge that was not allowed (names the first missing shard or unchecked file). */
export function describePartial(partial: PartialMerge, count: number): string {
  const given = count - partial.missingShards.length;
  if (partial.missingShards.length > 0) {
    const list = partial.missingShards.map((i) => `${i}/${count}`).join(', ');
    return `shard${partial.missingShards.length > 1 ? 's' : ''} ${list} missing: ${given} of ${count} shards given`;
  }
  const first = partial.unverified[0]!;
  return `${first.file}: the record lacks the ${first.lacks.join(' and ')} (written by an older semseg eval), so it cannot be checked against the other shards; evaluate that shard again`;
}

/**
 * Sums shards' confusion matrices: the metrics of the sum are exactly those of one pass over all
 * images. Every shard index of n must be there exactly once, all of the same n, and the
 * checkpoint hash, split, inference and CRF settings must agree; otherwise an InputError names
 * the file and what is missing or different. With `allowPartial`, missing shards and records
 * that lack the hash or settings are merged and reported in `partial`; disagreements never are.
 */
export function mergeEvalRecords(
  records: ReadonlyArray<{ file: string; value: unknown }>,
  options: MergeOptions = {},
): MergedEvaluation {
  if (records.length === 0) throw new InputError('no shard records to merge');
  let images = 0;
  let matrix: ConfusionMatrix | null = null;
  let crfMatrix: ConfusionMatrix | null = null;
  let crfSettings: unknown;
  const covered = new Map<number, string>();
  const unverified: PartialMerge['unverified'] = [];
  type Parsed = z.infer<typeof shardRecordSchema>;
  let first: { file: string; record: Parsed; count: number } | null = null;
  /** The first record that has a field, to compare the others with. */
  const reference = new Map<string, { file: string; value: string; shown: string }>();
  const agree = (file: string, field: string, value: string, shown: string) => {
    const seen = reference.get(field);
    if (!seen) reference.set(field, { file, value, shown });
    else if (seen.value !== value)
      throw new InputError(`its ${field} (${shown}) differs from ${seen.file}'s (${seen.shown})`, file);
  };
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
    const coverage: ShardCoverage | null = record.shards
      ? record.shards
      : record.shard
        ? { count: record.shard.count, indices: [record.shard.index] }
        : record.mergedFrom === undefined
          ? { count: 1, indices: [0] }
          : null;
    const lacks: string[] = [];
    if (!record.checkpointSha256) lacks.push("checkpoint's hash");
    if (!record.inference) lacks.push('inference settings');
    if (!coverage) lacks.push('list of shards it merged');
    if (lacks.length > 0) unverified.push({ file, lacks });
    // A partial merge merged again still could not check what it could not check.
    if (record.partial) unverified.push(...record.partial.unverified);
    if (first === null) first = { file, record, count: coverage?.count ?? 0 };
    else if (record.classes.join('\n') !== first.record.classes.join('\n'))
      throw new InputError(`its classes differ from ${first.file}'s`, file);
    if (coverage) {
      if (first.count === 0) first.count = coverage.count;
      else if (coverage.count !== first.count)
        throw new InputError(
          `it is a shard of ${coverage.count} but ${first.file} is a shard of ${first.count}; shards must come from the same --shard i/n`,
          file,
        );
      for (const index of coverage.indices) {
        if (index >= coverage.count)
          throw new InputError(`shard index ${index} is outside 0..${coverage.count - 1}`, file);
        if (covered.has(index)) throw new InputError(`shard ${index}/${coverage.count} is given twice`, file);
        covered.set(index, file);
      }
    }
    if (record.checkpointSha256)
      agree(file, 'checkpoint', record.checkpointSha256.join(','), describeHashes(record.checkpointSha256));
    if (record.split !== undefined) agree(file, 'split', record.split, `'${record.split}'`);
    if (record.inference) {
      // A record without a runtime predates onnxruntime: it was tfjs.
      const settings = canonical({ runtime: 'tfjs', ...record.inference });
      agree(file, 'inference settings', settings, settings);
    }
    const m = ConfusionMatrix.fromJSON(record.matrix);
    matrix = matrix ? matrix.merge(m) : m;
    if (i > 0 && (record.crf !== undefined) !== (crfMatrix !== null)) {
      throw new InputError('some shards were scored with the CRF and some without', file);
    }
    if (record.crf) {
      agree(file, 'CRF settings', canonical(record.crf.settings), canonical(record.crf.settings));
      const c = ConfusionMatrix.fromJSON(record.crf.matrix);
      crfMatrix = crfMatrix ? crfMatrix.merge(c) : c;
      crfSettings = record.crf.settings;
    }
    images += record.images;
  });
  const head = first as unknown as { file: string; record: Parsed; count: number };
  const count = head.count || 1;
  const missingShards: number[] = [];
  for (let index = 0; index < count; index++) if (!covered.has(index)) missingShards.push(index);
  const partial = missingShards.length > 0 || unverified.length > 0 ? { missingShards, unverified } : null;
  if (partial && !options.allowPartial) throw new InputError(describePartial(partial, count));
  const { record } = head;
  return {
    files: records.length,
    images,
    classes: record.classes,
    matrix: matrix!,
    crfMatrix,
    crfSettings,
    ...(record.checkpoint ? { checkpoint: record.checkpoint } : {}),
    ...(record.checkpointSha256 ? { checkpointSha256: record.checkpointSha256 } : {}),
    ...(record.split !== undefined ? { split: record.split } : {}),
    ...(record.inference ? { inference: record.inference as InferenceRecord } : {}),
    shards: { count, indices: [...covered.keys()].sort((a, b) => a - b) },
    partial,
  };
}

/** The record of merged shards, in the same format (so merges merge again). */
export function mergedEvalRecord(merged: MergedEvaluation): EvalRecord {
  const metrics = merged.matrix.compute();
  const crfMetrics = merged.crfMatrix?.compute();
  return {
    format: EVAL_FORMAT,
    version: EVAL_VERSION,
    ...(merged.checkpoint ? { checkpoint: merged.checkpoint } : {}),
    ...(merged.checkpointSha256 ? { checkpointSha256: merged.checkpointSha256 } : {}),
    ...(merged.split !== undefined ? { split: merged.split } : {}),
    ...(merged.inference ? { inference: merged.inference } : {}),
    shards: merged.shards,
    mergedFrom: merged.files,
    ...(merged.partial ? { partial: merged.partial } : {}),
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
