import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type CheckpointMeta,
  ConfigError,
  type Normalization,
  Rng,
  type RngState,
  type SegmentationModel,
  applyCheckpoint,
  createModel,
} from '@semseg/core';
import { loadCheckpoint, saveCheckpoint } from '@semseg/core/node';
import type { DataPosition, Rgb } from '@semseg/voc-data';
import { type SegmentationDataset, createBatchPipeline, openVocDataset } from '@semseg/voc-data/node';
import type { OptimizerConfig } from '../train/optimizer.js';
import type { LrSchedule } from '../train/schedule.js';
import { NonFiniteLossError, Trainer } from '../train/trainer.js';
import type { CrfOption } from '../types.js';
import { type EvaluationSummary, evaluateDataset } from './evaluate-run.js';

export interface TrainRunOptions {
  /** A registered model name (fcn8s, ...). */
  model: string;
  /** Extra model config (numClasses comes from the dataset's classes). */
  modelConfig?: Record<string, unknown>;
  /** VOC-layout dataset root. */
  data: string;
  trainSplit?: string;
  valSplit?: string;
  /** Run folder: checkpoints, train.jsonl, run.json. */
  out: string;
  steps: number;
  batchSize: number;
  crop: [number, number];
  scaleRange?: [number, number];
  flipProbability?: number;
  optimizer: OptimizerConfig;
  schedule: Omit<LrSchedule, 'maxSteps'>;
  seed?: number;
  /** ImageNet VGG16 weights for the backbone (see @semseg/vgg16). */
  pretrained?: string;
  /** A checkpoint to initialise from by parameter name (staged training: 32s -> 16s -> 8s). */
  initFrom?: string;
  /** Continue the run in `out` from its latest checkpoint. */
  resume?: boolean;
  checkpointEvery?: number;
  evalEvery?: number;
  /** Evaluate with the CRF too at each evaluation. */
  evalCrf?: CrfOption | null;
  logEvery?: number;
  workers?: number;
  /** The backend the run uses, for the log. */
  backend?: string;
  /** Stop at the next step boundary, writing a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Stop after this step as if interrupted (checkpoint in `latest`, no `final`): a run can be
   * split into parts that `resume` joins, whatever the schedule (`steps` still sets its length).
   */
  stopAfter?: number;
  onEvent?: (event: TrainEvent) => void;
}

export type TrainEvent =
  | {
      type: 'start';
      startStep: number;
      totalSteps: number;
      trainImages: number;
      model: string;
      resumed: boolean;
    }
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      epoch: number;
      loss: number;
      lr: number;
      imagesPerSecond: number;
    }
  | { type: 'eval'; step: number; summary: EvaluationSummary }
  | { type: 'checkpoint'; step: number; path: string }
  | {
      type: 'stopped';
      step: number;
      reason: 'finished' | 'interrupted' | 'non-finite-loss';
      message?: string;
    };

export interface TrainRunResult {
  step: number;
  finalCheckpoint: string;
  lastLoss: number;
  reason: 'finished' | 'interrupted';
  evaluations: Array<{ step: number; summary: EvaluationSummary }>;
}

interface TrainingState {
  step: number;
  epoch: number;
  position: DataPosition;
  optimizerIterations: number;
  generators: Record<string, RngState>;
  seed: number;
  run: Omit<TrainRunOptions, 'signal' | 'onEvent'>;
}

export const LATEST = 'latest';
export const FINAL = 'final';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function checkOptions(o: TrainRunOptions): void {
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('steps', o.steps);
  positiveInt('batch size', o.batchSize);
  positiveInt('checkpoint interval', o.checkpointEvery);
  positiveInt('eval interval', o.evalEvery);
  positiveInt('stop step', o.stopAfter);
  if (!(o.crop[0] > 0 && o.crop[1] > 0))
    throw new ConfigError(`crop must be positive, got ${o.crop.join('x')}`);
  if (!(o.schedule.baseLr > 0))
    throw new ConfigError(`learning rate must be positive, got ${o.schedule.baseLr}`);
}

/**
 * Trains a registered model on a VOC-layout dataset: seeded data order and augmentation, SGD or
 * Adam with the chosen schedule, a checkpoint every `checkpointEvery` steps and at the end (written
 * atomically), optional evaluation, a JSONL log of every logged step and evaluation. `resume`
 * continues exactly where the latest checkpoint stopped (weights, optimizer, data position and
 * dropout generators), so an interrupted run ends bit-identical to an uninterrupted one.
 */
export async function runTraining(options: TrainRunOptions): Promise<TrainRunResult> {
  checkOptions(options);
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  const latest = join(out, LATEST);
  const seed = options.seed ?? 0;
  const dataset = await openVocDataset(options.data, { split: options.trainSplit ?? 'train' });
  if (dataset.ids.length < options.batchSize) {
    throw new ConfigError(
      `${dataset.splitFile}: the '${dataset.split}' split has ${dataset.ids.length} image(s), fewer than one batch of ${options.batchSize}`,
    );
  }
  const classes = [...dataset.classes];
  const palette = dataset.palette.slice(0, classes.length) as Rgb[];

  let model: SegmentationModel;
  let architectureName = options.model;
  let state: TrainingState | null = null;
  let resumedOptimizer: Awaited<ReturnType<typeof loadCheckpoint>>['optimizerTensors'] | null = null;
  if (options.resume) {
    if (!(await exists(join(latest, 'model.json')))) {
      throw new ConfigError(
        `--resume: ${out} has no checkpoint to resume from (expected ${latest}/model.json)`,
      );
    }
    const checkpoint = await loadCheckpoint(latest);
    state = checkpoint.meta.training as unknown as TrainingState;
    if (!state || typeof state.step !== 'number' || !state.position) {
      throw new ConfigError(`${checkpoint.files.modelJson}: has no training state to resume from`);
    }
    architectureName = checkpoint.meta.architecture.name;
    model = createModel(architectureName, checkpoint.meta.architecture.config, { rng: new Rng(seed) });
    resumedOptimizer = checkpoint.optimizerTensors;
    applyCheckpoint(model, checkpoint, { source: checkpoint.files.modelJson, keepOptimizer: true });
    model.loadGeneratorStates(state.generators, checkpoint.files.modelJson);
  } else {
    const rng = new Rng(seed);
    model = createModel(
      options.model,
      { ...options.modelConfig, numClasses: classes.length },
      { rng: rng.derive('init') },
    );
    if (options.pretrained) {
      const withBackbone = model as SegmentationModel & {
        loadBackboneWeights?: (source: string) => Promise<unknown>;
      };
      if (!withBackbone.loadBackboneWeights)
        throw new ConfigError(`model '${options.model}' has no backbone that takes --pretrained weights`);
      await withBackbone.loadBackboneWeights(options.pretrained);
    }
    if (options.initFrom) {
      const checkpoint = await loadCheckpoint(options.initFrom);
      applyCheckpoint(model, checkpoint, { strict: false, source: checkpoint.files.modelJson });
    }
  }
  const normalization: Normalization = model.normalization ?? {
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    scale: 1,
    channelOrder: 'rgb',
  };
  const trainer = new Trainer({
    model,
    optimizer: options.optimizer,
    schedule: { ...options.schedule, maxSteps: options.steps },
  });
  if (state && resumedOptimizer) {
    trainer.optimizer.loadState(resumedOptimizer, state.optimizerIterations, latest);
    trainer.step = state.step;
  }
  if (resumedOptimizer) Object.values(resumedOptimizer).forEach((t) => t.dispose());

  const { signal: _signal, onEvent: _onEvent, stopAfter: _stopAfter, ...runRecord } = options;
  const meta = (training: TrainingState | null): CheckpointMeta => ({
    architecture: { name: architectureName, config: architectureConfig(model) },
    classes,
    palette,
    normalization,
    training: training as unknown as CheckpointMeta['training'],
  });
  const logFile = join(out, 'train.jsonl');
  const log = (record: Record<string, unknown>) =>
    appendFile(logFile, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  await writeFile(join(out, 'run.json'), `${JSON.stringify(runRecord, null, 2)}\n`);

  let position: DataPosition = state?.position ?? { epoch: 0, index: 0 };
  const save = async (dir: string): Promise<string> => {
    const training: TrainingState = {
      step: trainer.step,
      epoch: position.epoch,
      position,
      optimizerIterations: trainer.optimizer.iterations,
      generators: model.generatorStates(),
      seed,
      run: state?.run ?? runRecord,
    };
    const path = await saveCheckpoint(dir, model.stateDict(), meta(training), trainer.optimizer.state());
    options.onEvent?.({ type: 'checkpoint', step: trainer.step, path });
    await log({ event: 'checkpoint', step: trainer.step, path });
    return path;
  };

  const evaluations: TrainRunResult['evaluations'] = [];
  const evaluate = async () => {
    const valDataset = await openVocDataset(options.data, { split: options.valSplit ?? 'val' });
    const summary = await evaluateDataset(model, valDataset, { normalization, crf: options.evalCrf ?? null });
    model.train();
    evaluations.push({ step: trainer.step, summary });
    options.onEvent?.({ type: 'eval', step: trainer.step, summary });
    await log({ event: 'eval', step: trainer.step, ...summaryRecord(summary) });
  };

  options.onEvent?.({
    type: 'start',
    startStep: trainer.step,
    totalSteps: options.steps,
    trainImages: dataset.ids.length,
    model: options.model,
    resumed: Boolean(state),
  });
  await log({
    event: 'start',
    step: trainer.step,
    totalSteps: options.steps,
    backend: options.backend,
    resumed: Boolean(state),
  });

  const pipeline = createBatchPipeline(dataset, {
    batchSize: options.batchSize,
    normalization,
    mode: 'train',
    augment: {
      cropSize: { height: options.crop[0], width: options.crop[1] },
      scaleRange: options.scaleRange ?? [0.5, 2],
      flipProbability: options.flipProbability ?? 0.5,
    },
    seed,
    epochs: Number.POSITIVE_INFINITY,
    start: position,
    workers: options.workers ?? 0,
  });
  let lastLoss = Number.NaN;
  let reason: TrainRunResult['reason'] = 'finished';
  const logEvery = options.logEvery ?? 10;
  try {
    let last = performance.now();
    if (trainer.step < options.steps) {
      for await (const batch of pipeline) {
        if (options.signal?.aborted) {
          reason = 'interrupted';
          break;
        }
        let result: Awaited<ReturnType<Trainer['trainStep']>>;
        try {
          result = await trainer.trainStep(batch.images, batch.labels, [
            batch.batchSize,
            batch.height,
            batch.width,
          ]);
        } catch (e) {
          if (e instanceof NonFiniteLossError) {
            options.onEvent?.({
              type: 'stopped',
              step: e.step,
              reason: 'non-finite-loss',
              message: e.message,
            });
            await log({ event: 'stopped', step: e.step, reason: 'non-finite-loss', message: e.message });
          }
          throw e;
        }
        position = batch.position;
        lastLoss = result.loss;
        const now = performance.now();
        const imagesPerSecond = (batch.batchSize * 1000) / Math.max(1e-6, now - last);
        last = now;
        options.onEvent?.({
          type: 'step',
          step: result.step,
          totalSteps: options.steps,
          epoch: batch.epoch,
          loss: result.loss,
          lr: result.lr,
          imagesPerSecond,
        });
        if (result.step % logEvery === 0 || result.step === options.steps) {
          await log({
            event: 'step',
            step: result.step,
            epoch: batch.epoch,
            loss: result.loss,
            lr: result.lr,
            imagesPerSecond,
          });
        }
        if (
          options.checkpointEvery &&
          result.step % options.checkpointEvery === 0 &&
          result.step < options.steps
        )
          await save(latest);
        if (options.evalEvery && result.step % options.evalEvery === 0 && result.step < options.steps)
          await evaluate();
        if (result.step >= options.steps) break;
        if (options.stopAfter !== undefined && result.step >= options.stopAfter) {
          reason = 'interrupted';
          break;
        }
      }
    }
  } finally {
    await pipeline.close();
  }
  await save(latest);
  const finalCheckpoint = reason === 'finished' ? await save(join(out, FINAL)) : latest;
  if (reason === 'finished' && options.evalEvery) await evaluate();
  options.onEvent?.({ type: 'stopped', step: trainer.step, reason });
  await log({ event: 'stopped', step: trainer.step, reason });
  trainer.dispose();
  model.dispose();
  return { step: trainer.step, finalCheckpoint, lastLoss, reason, evaluations };
}

/** The model's resolved config, as its registry factory would take it back. */
function architectureConfig(model: SegmentationModel): Record<string, unknown> {
  const withConfig = model as SegmentationModel & { config?: Record<string, unknown> };
  return { ...(withConfig.config ?? {}), numClasses: model.numClasses };
}

function summaryRecord(summary: EvaluationSummary): Record<string, unknown> {
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
