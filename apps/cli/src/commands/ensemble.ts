// --checkpoint given more than once (an ensemble: EDeconvNet is DeconvNet + FCN-8s) and
// --proposals (proposal-wise inference), shared by predict and eval.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { CheckpointMeta, Normalization, SegmentationModel } from '@semseg/core';
import {
  type Box,
  type CrfOption,
  EnsembleModel,
  type InferenceOptions,
  type Prediction,
  RAW_PIXELS,
  type RgbImage,
  parseProposalBoxes,
  predictImageAsync,
  predictWithProposals,
  refineWithCrf,
} from '@semseg/engine';
import { type EvaluationSummary, checkpointSha256, evaluateDataset, loadModel } from '@semseg/engine/node';
import { ConfusionMatrix } from '@semseg/metrics';
import type { ShardSpec } from '@semseg/voc-data';
import { openVocDataset } from '@semseg/voc-data/node';
import { UsageError } from '../errors.js';

/** commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One checkpoint's model, or the ensemble of several (mean of their probabilities). */
export interface LoadedModels {
  model: SegmentationModel;
  /** The first checkpoint's (classes, palette); all must name the same classes. */
  meta: CheckpointMeta;
  /** What the model takes: the checkpoint's, or raw pixels for an ensemble. */
  normalization: Normalization;
  /** Each checkpoint's content hash (see `checkpointSha256`), in the order given. */
  checkpointSha256: string[];
  /** Each checkpoint's model.json. */
  modelJson: string[];
  dispose(): void;
}

export async function loadModels(paths: readonly string[]): Promise<LoadedModels> {
  if (paths.length === 0) throw new UsageError('--checkpoint <dir> is required');
  const loaded: Array<Awaited<ReturnType<typeof loadModel>>> = [];
  try {
    for (const path of paths) loaded.push(await loadModel(path));
    const first = loaded[0]!;
    for (let i = 1; i < loaded.length; i++) {
      if (loaded[i]!.meta.classes.join('\n') !== first.meta.classes.join('\n')) {
        throw new UsageError(
          `${paths[i]}: its classes (${loaded[i]!.meta.classes.join(', ')}) differ from ${paths[0]}'s; an ensemble needs the same classes`,
        );
      }
    }
    const model =
      loaded.length === 1
        ? first.model
        : new EnsembleModel(loaded.map((l) => ({ model: l.model, normalization: l.meta.normalization })));
    model.eval();
    const hashes = await Promise.all(loaded.map((l) => checkpointSha256(l.modelJson)));
    return {
      model,
      meta: first.meta,
      normalization: loaded.length === 1 ? first.meta.normalization : RAW_PIXELS,
      checkpointSha256: hashes,
      modelJson: loaded.map((l) => l.modelJson),
      dispose: () => model.dispose(),
    };
  } catch (error) {
    for (const l of loaded) l.model.dispose();
    throw error;
  }
}

/** Boxes for an image (by file name, stem or dataset id), or 'auto'. */
export type ProposalSource = (name: string) => readonly Box[] | 'auto';

/**
 * `--proposals auto` or `--proposals boxes.json` (image name or stem -> [[x0, y0, x1, y1], ...]);
 * an image the file does not list gets no boxes (whole-image prediction).
 */
export async function readProposals(flag: string | undefined): Promise<ProposalSource | null> {
  if (flag === undefined) return null;
  if (flag === 'auto') return () => 'auto';
  let json: unknown;
  try {
    json = JSON.parse(await readFile(flag, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${flag}: proposals file not found`
        : `${flag}: not a JSON boxes file (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const boxes = parseProposalBoxes(json, flag);
  return (name) => {
    const file = basename(name);
    return boxes.get(file) ?? boxes.get(basename(file, extname(file))) ?? [];
  };
}

/** The whole-image prediction, or the proposal-wise one when `boxes` are given. */
export async function predictWith(
  loaded: LoadedModels,
  image: RgbImage,
  inference: Omit<InferenceOptions, 'normalization'>,
  boxes: readonly Box[] | 'auto' | null,
): Promise<Prediction> {
  const options = { ...inference, normalization: loaded.normalization };
  if (boxes === null) return predictImageAsync(loaded.model, image, options);
  return predictWithProposals(loaded.model, image, options, { boxes });
}

export interface ModelsEvaluationOptions {
  data: string;
  split: string;
  shard?: ShardSpec;
  inference: Omit<InferenceOptions, 'normalization'>;
  crf: CrfOption | null;
  proposals: ProposalSource | null;
  onImage?: (done: number, total: number) => void;
}

/**
 * `semseg eval` on loaded models (one checkpoint or an ensemble), whole-image or proposal-wise:
 * the same summary as runEvaluation. The caller disposes the models.
 */
export async function evaluateModels(
  loaded: LoadedModels,
  options: ModelsEvaluationOptions,
): Promise<EvaluationSummary & { meta: CheckpointMeta }> {
  const { meta } = loaded;
  const dataset = await openVocDataset(options.data, {
    split: options.split,
    classes: meta.classes,
    palette: meta.palette,
    ...(options.shard ? { shard: options.shard } : {}),
  });
  if (!options.proposals) {
    const summary = await evaluateDataset(loaded.model, dataset, {
      ...options.inference,
      normalization: loaded.normalization,
      crf: options.crf,
      ...(options.onImage ? { onImage: options.onImage } : {}),
    });
    return { ...summary, meta };
  }
  const classes = loaded.model.numClasses;
  const matrix = new ConfusionMatrix(classes, { ignoreIndex: 255 });
  const crfMatrix = options.crf ? new ConfusionMatrix(classes, { ignoreIndex: 255 }) : null;
  let network = 0;
  let crfTime = 0;
  const total = dataset.ids.length;
  for (let i = 0; i < total; i++) {
    const sample = await dataset.read(i);
    const image = { width: sample.width, height: sample.height, data: sample.image };
    const prediction = await predictWith(loaded, image, options.inference, options.proposals(sample.id));
    network += prediction.timings.network + prediction.timings.preprocess;
    matrix.update(prediction.labels, sample.label);
    if (options.crf && crfMatrix) {
      const refined = refineWithCrf(image, prediction, options.crf);
      crfTime += refined.milliseconds;
      crfMatrix.update(refined.labels, sample.label);
    }
    options.onImage?.(i + 1, total);
  }
  return {
    images: total,
    matrix: matrix.toJSON(),
    metrics: matrix.compute(),
    timings: {
      network: total ? network / total : 0,
      ...(crfMatrix ? { crf: total ? crfTime / total : 0 } : {}),
    },
    ...(crfMatrix ? { crfMatrix: crfMatrix.toJSON(), crfMetrics: crfMatrix.compute() } : {}),
    meta,
  };
}
