import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type CheckpointMeta,
  ConfigError,
  IMAGENET_NORMALIZATION,
  type ModelDefinition,
  type Normalization,
  type SegmentationModel,
  type StateDict,
  getModelDefinition,
} from '@semseg/core';
import { loadCheckpoint, saveCheckpoint } from '@semseg/core/node';
import type { DataPosition, Rgb } from '@semseg/voc-data';
import {
  type SegmentationDataset,
  createBatchPipeline,
  createObjectCentredPipeline,
  openSbdDataset,
  openVocDataset,
  readClassesOption,
} from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import { resolveOptimizerConfig } from '../train/optimizer.js';
import { type RecipeEntry, describeRecipe } from '../train/recipe.js';
import { type EvaluationSummary, evaluateDataset } from './evaluate-run.js';
import { closeTrainer, createTrainer } from './parallel/index.js';
import { ParallelTrainer } from './parallel/trainer.js';
import {
  BEST,
  type BestRecord,
  copyCheckpoint,
  pruneStepCheckpoints,
  readBestRecord,
  recoverRunCheckpoints,
  stepCheckpointName,
  testPauseHook,
} from './train/checkpoints.js';
import { type TrainingBatches, trainLoop } from './train/loop.js';
import { checkWasmStepFits } from './train/memory-check.js';
import { createRunModel, restoreRunModel } from './train/model-setup.js';
import { type RunRecord, type TrainRunOptions, type TrainRunResult, checkOptions } from './train/options.js';
import { FINAL, LATEST, RunFiles, type TrainingState } from './train/run-files.js';
import { batchPixelWeights, pixelWeightMapOf } from './train/weight-maps.js';

export type { TrainEvent, TrainRunOptions, TrainRunResult } from './train/options.js';
export { FINAL, LATEST };

/** A split of VOC or, for SBD's `*_aug` lists (train_aug), of the SegmentationClassAug layout. */
export function openTrainingSplit(
  root: string,
  split: string,
  classes: { classes: readonly string[]; palette: readonly Rgb[] } | undefined = undefined,
): Promise<SegmentationDataset> {
  const options = { split, ...(classes ?? {}) };
  return /_aug$/.test(split) ? openSbdDataset(root, options) : openVocDataset(root, options);
}

interface RunModel {
  model: SegmentationModel;
  definition: ModelDefinition;
  state: TrainingState | null;
  /** The resumed optimiser's slots (the caller disposes them). */
  optimizerTensors: StateDict | null;
}

/**
 * The run's model: restored from `latest` when resuming, else created and initialised. A resumed
 * run killed before its first checkpoint starts again from step 0 (its settings come from
 * run.json); one killed during a checkpoint write gets its previous checkpoint back first.
 */
async function runModel(
  options: TrainRunOptions,
  files: RunFiles,
  numClasses: number,
  seed: number,
): Promise<RunModel> {
  const fresh = async (): Promise<RunModel> => ({
    ...(await createRunModel(options, numClasses, seed)),
    state: null,
    optimizerTensors: null,
  });
  if (!options.resume) return fresh();
  if (!(await recoverRunCheckpoints(files))) {
    if (!(await files.hasRunRecord()))
      throw new ConfigError(
        `--resume: ${files.out} has no checkpoint to resume from and no run.json to start it again from`,
      );
    await files.log({ event: 'restart', step: 0, reason: `no checkpoint in ${files.latest}` });
    return fresh();
  }
  const checkpoint = await loadCheckpoint(files.latest);
  const state = checkpoint.meta.training as unknown as TrainingState | undefined;
  if (!state || typeof state.step !== 'number' || !state.position) {
    tf.dispose([...Object.values(checkpoint.tensors), ...Object.values(checkpoint.optimizerTensors)]);
    throw new ConfigError(`${checkpoint.files.modelJson}: has no training state to resume from`);
  }
  const { model, definition } = restoreRunModel(checkpoint, seed);
  model.loadGeneratorStates(state.generators, checkpoint.files.modelJson);
  return { model, definition, state, optimizerTensors: checkpoint.optimizerTensors };
}

/**
 * Trains a registered model on a VOC-layout (or SBD-layout) dataset: seeded data order and
 * augmentation, the model definition's parameter groups, SGD / Adam / RMSprop with the chosen
 * schedule, a checkpoint every `checkpointEvery` steps and at the end (written atomically),
 * optional evaluation, a JSONL log, and run.json with the recipe and where each value came from.
 * `resume` continues exactly where the latest checkpoint stopped (weights, optimizer, data position
 * and dropout generators), so an interrupted run ends bit-identical to an uninterrupted one.
 */
export async function runTraining(options: TrainRunOptions): Promise<TrainRunResult> {
  checkOptions(options);
  // A model without a weight map is refused before anything is written (a resume names its model too).
  if (options.weightMap) pixelWeightMapOf(getModelDefinition(options.model));
  const files = new RunFiles(resolve(options.out));
  await mkdir(files.out, { recursive: true });
  const seed = options.seed ?? 0;
  const classList = options.classes ? await readClassesOption(options.classes) : undefined;
  const dataset = await openTrainingSplit(options.data, options.trainSplit ?? 'train', classList);
  if (dataset.ids.length < options.batchSize) {
    throw new ConfigError(
      `${dataset.splitFile}: the '${dataset.split}' split has ${dataset.ids.length} image(s), fewer than one batch of ${options.batchSize}`,
    );
  }
  const classes = [...dataset.classes];
  const palette = dataset.palette.slice(0, classes.length) as Rgb[];
  const { model, definition, state, optimizerTensors } = await runModel(options, files, classes.length, seed);
  const pixelWeights = options.weightMap
    ? batchPixelWeights(definition, classes.length, options.weightMap)
    : undefined;
  const normalization: Normalization = model.normalization ?? IMAGENET_NORMALIZATION;
  const trainer = await createTrainer({
    model,
    architecture: {
      name: definition.name,
      config: { ...(model.config ?? {}), numClasses: model.numClasses },
    },
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    optimizer: options.optimizer,
    schedule: { ...options.schedule, maxSteps: options.steps },
    ...(definition.parameterGroup ? { parameterGroup: definition.parameterGroup } : {}),
    ...(options.lossReduction ? { lossReduction: options.lossReduction } : {}),
    ...(options.classWeights ? { classWeights: options.classWeights } : {}),
  });
  if (state && optimizerTensors) {
    trainer.optimizer.loadState(optimizerTensors, state.optimizerIterations, files.latest);
    trainer.step = state.step;
  }
  if (optimizerTensors) tf.dispose(Object.values(optimizerTensors));
  if (options.backend === 'wasm') {
    // Each replica's heap holds the weights, its shard's gradients and activations; the optimiser's
    // slots live in shared memory. One thread's heap holds them all.
    const threads = trainer instanceof ParallelTrainer ? trainer.threads : 1;
    try {
      await checkWasmStepFits(trainer, {
        batchSize: Math.ceil(options.batchSize / threads),
        height: options.crop[0],
        width: options.crop[1],
        slotsPerParameter:
          threads > 1 ? 0 : resolveOptimizerConfig(options.optimizer).type === 'adam' ? 2 : 1,
      });
    } catch (e) {
      await closeTrainer(trainer);
      throw e;
    }
  }

  if (options.saveBest && !options.evalEvery)
    throw new ConfigError(`--save-best ${options.saveBest} needs evaluations (--eval-every <steps>)`);
  let best: BestRecord | null = options.saveBest ? await readBestRecord(files, options.saveBest) : null;

  // Plugins are this machine's module paths, not a setting of the run.
  const {
    signal: _signal,
    onEvent: _onEvent,
    stopAfter: _stopAfter,
    plugins: _plugins,
    ...runRecord
  } = options;
  const record: RunRecord = state?.run ?? runRecord;
  const recipe: RecipeEntry[] = describeRecipe(
    options,
    options.settingOrigins ?? {},
    trainer.optimizer.groups(),
    normalization,
    definition.parameterGroup ? `model ${definition.name}` : 'parameter defaults',
  );
  await files.writeRunRecord(runRecord, recipe);

  let position: DataPosition = state?.position ?? { epoch: 0, index: 0 };
  const meta = (training: TrainingState): CheckpointMeta => ({
    architecture: {
      name: definition.name,
      config: { ...(model.config ?? {}), numClasses: model.numClasses },
    },
    classes,
    palette,
    normalization,
    training: training as unknown as CheckpointMeta['training'],
  });
  const save = async (dir: string, extra: Partial<TrainingState> = {}): Promise<string> => {
    const training: TrainingState = {
      step: trainer.step,
      epoch: position.epoch,
      position,
      optimizerIterations: trainer.optimizer.iterations,
      generators: model.generatorStates(),
      seed,
      run: record,
      ...extra,
    };
    const onStage = dir === files.latest ? testPauseHook(trainer.step) : undefined;
    const path = await saveCheckpoint(
      dir,
      model.stateDict(),
      meta(training),
      trainer.optimizer.state(),
      onStage ? { onStage } : {},
    );
    options.onEvent?.({ type: 'checkpoint', step: trainer.step, path });
    await files.log({ event: 'checkpoint', step: trainer.step, path });
    return path;
  };
  /** `latest`, and with `keep` a copy of it as step-<n>, the `keep` newest of them kept. */
  const saveLatest = async (): Promise<string> => {
    const path = await save(files.latest);
    if (options.keep) {
      await copyCheckpoint(path, join(files.out, stepCheckpointName(trainer.step)));
      await pruneStepCheckpoints(files, options.keep);
    }
    return path;
  };
  const evaluations: TrainRunResult['evaluations'] = [];
  const evaluate = async () => {
    const valDataset = await openVocDataset(options.data, {
      split: options.valSplit ?? 'val',
      classes,
      palette: dataset.palette,
    });
    const summary = await evaluateDataset(model, valDataset, {
      normalization,
      crf: options.evalCrf ?? null,
      ...(trainer instanceof ParallelTrainer ? { replicas: trainer.pool } : {}),
    });
    model.train();
    evaluations.push({ step: trainer.step, summary });
    options.onEvent?.({ type: 'eval', step: trainer.step, summary });
    const scores = summaryRecord(summary);
    await files.log({ event: 'eval', step: trainer.step, ...scores });
    if (options.saveBest) {
      const value = scores[options.saveBest] as number;
      // Ties keep the earlier checkpoint, so a resumed run that redoes an evaluation writes nothing.
      if (best === null || value > best.value) {
        best = { metric: options.saveBest, value, step: trainer.step };
        await save(join(files.out, BEST), { best });
        await files.log({ event: 'best', ...best });
      }
    }
  };

  options.onEvent?.({
    type: 'start',
    startStep: trainer.step,
    totalSteps: options.steps,
    trainImages: dataset.ids.length,
    model: definition.name,
    resumed: Boolean(state),
    threads: trainer instanceof ParallelTrainer ? trainer.threads : 1,
    recipe,
  });
  await files.log({
    event: 'start',
    step: trainer.step,
    totalSteps: options.steps,
    backend: options.backend,
    resumed: Boolean(state),
  });

  const pipeline: TrainingBatches =
    options.sampler === 'object-centred'
      ? // DeconvNet's first stage: crops around each object (boxes enlarged, resized, cropped).
        await createObjectCentredPipeline(dataset, {
          batchSize: options.batchSize,
          normalization,
          crop: { height: options.crop[0], width: options.crop[1] },
          flipProbability: options.flipProbability ?? 0.5,
          seed,
          start: position,
        })
      : createBatchPipeline(dataset, {
          batchSize: options.batchSize,
          normalization,
          mode: 'train',
          augment: {
            cropSize: { height: options.crop[0], width: options.crop[1] },
            scaleRange: options.scaleRange ?? [0.5, 2],
            flipProbability: options.flipProbability ?? 0.5,
            catMaxRatio: options.catMaxRatio ?? 1,
            ...(options.photometric ? { photometric: true } : {}),
          },
          seed,
          epochs: Number.POSITIVE_INFINITY,
          start: position,
          workers: options.workers ?? 0,
          ...(options.weightMap ? { instances: true } : {}),
        });
  let loop: Awaited<ReturnType<typeof trainLoop>>;
  try {
    loop = await trainLoop(trainer, pipeline, options, files, {
      checkpoint: saveLatest,
      evaluate,
      advanced: (next) => {
        position = next;
      },
      ...(pixelWeights ? { pixelWeights } : {}),
    });
  } catch (e) {
    // A failed step (a replica thread that died, a non-finite loss) keeps the last checkpoint.
    await closeTrainer(trainer);
    throw e;
  } finally {
    await pipeline.close();
  }
  await saveLatest();
  const finalCheckpoint = loop.reason === 'finished' ? await save(files.final) : files.latest;
  if (loop.reason === 'finished' && options.evalEvery) await evaluate();
  options.onEvent?.({ type: 'stopped', step: trainer.step, reason: loop.reason });
  await files.log({ event: 'stopped', step: trainer.step, reason: loop.reason });
  await closeTrainer(trainer);
  trainer.dispose();
  model.dispose();
  return { step: trainer.step, finalCheckpoint, lastLoss: loop.lastLoss, reason: loop.reason, evaluations };
}

function summaryRecord(summary: EvaluationSummary): Record<string, number> {
  return {
    mIoU: summary.metrics.meanIoU,
    mAcc: summary.metrics.meanAccuracy,
    aAcc: summary.metrics.pixelAccuracy,
    ...(summary.crfMetrics ? { crfMIoU: summary.crfMetrics.meanIoU } : {}),
  };
}

/** Reads a run's train.jsonl (for reports and curves). */
export async function readTrainLog(out: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(resolve(out), 'train.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export type { SegmentationDataset };
