import { ConfigError, type LossReduction, type OptimizerConfig } from '@semseg/core';
import type { RecipeEntry } from '../../train/recipe.js';
import type { LrSchedule } from '../../train/schedule.js';
import { type SettingOrigin, type TrainSettings, parseTrainSettings } from '../../train/settings.js';
import type { CrfOption } from '../../types.js';
import type { EvaluationSummary } from '../evaluate-run.js';
import type { BestMetric } from './checkpoints.js';

export interface TrainRunOptions {
  /** A registered model name (fcn8s, ...). */
  model: string;
  /** Extra model config (numClasses comes from the dataset's classes). */
  modelConfig?: Record<string, unknown>;
  /** VOC-layout dataset root (or the SBD layout: SegmentationClassAug with train_aug.txt). */
  data: string;
  /**
   * The dataset's classes: a labelmap.txt-style file, a file of names or a comma list (default:
   * the dataset's labelmap.txt, else VOC's 21).
   */
  classes?: string;
  /** Default `train`; `train_aug` reads SBD's SegmentationClassAug labels. */
  trainSplit?: string;
  valSplit?: string;
  /** Run folder: checkpoints, train.jsonl, run.json. */
  out: string;
  steps: number;
  batchSize: number;
  crop: [number, number];
  scaleRange?: [number, number];
  flipProbability?: number;
  /** mmsegmentation's PhotoMetricDistortion in the training augmentation. */
  photometric?: boolean;
  /** How training samples are drawn (default random crops of whole images). */
  sampler?: 'random-crop' | 'object-centred';
  /** Redraw crop windows where one class covers this fraction or more (mmsegmentation). Default 1. */
  catMaxRatio?: number;
  /** Per-class loss weights. */
  classWeights?: readonly number[];
  /**
   * Per-pixel loss weights on every training crop from the model definition's `pixelWeightMap`
   * (U-Net's border weight map), with its parameters (U-Net: `w0`, `sigma`; absent: the paper's).
   * The crops' instances come from SegmentationObject/<id>.png, else the label's components.
   */
  weightMap?: Readonly<Record<string, number>>;
  optimizer: OptimizerConfig;
  schedule: Omit<LrSchedule, 'maxSteps'>;
  /** 'mean' over labelled pixels (default) or 'sum' (Caffe's `normalize: false`). */
  lossReduction?: LossReduction;
  seed?: number;
  /** ImageNet weights for the backbone, through the model definition's `pretrained`. */
  pretrained?: string;
  /** A checkpoint (or a run folder: its final, else latest) to initialise from by parameter name. */
  initFrom?: string;
  /** A staged preset's earlier stage: `initFrom` must hold a model of that preset's architecture. */
  initFromPreset?: string;
  /** Continue the run in `out` from its latest checkpoint. */
  resume?: boolean;
  checkpointEvery?: number;
  /** Keep the `keep` newest step checkpoints (`step-<n>`) besides `latest`. */
  keep?: number;
  /** Keep the checkpoint of the best evaluation so far in `best` (needs `evalEvery`). */
  saveBest?: BestMetric;
  evalEvery?: number;
  /** Evaluate with the CRF too at each evaluation. */
  evalCrf?: CrfOption | null;
  logEvery?: number;
  workers?: number;
  /**
   * Threads for the training steps and evaluations (data-parallel replicas on the wasm and cpu
   * backends; default 1). The same seed and thread count give bit-identical runs.
   */
  threads?: number;
  /** Modules a replica thread imports to register the model (its package), for `threads` > 1. */
  plugins?: readonly string[];
  /** The backend the run uses, for the log. */
  backend?: string;
  /** Where each setting came from (default, preset, config, flag, resumed run), for the recipe. */
  settingOrigins?: Partial<Record<keyof TrainSettings, SettingOrigin>>;
  /** Stop at the next step boundary, writing a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Stop after this step as if interrupted (checkpoint in `latest`, no `final`): a run can be
   * split into parts that `resume` joins, whatever the schedule (`steps` still sets its length).
   */
  stopAfter?: number;
  onEvent?: (event: TrainEvent) => void;
}

/** The options a run records in run.json and its checkpoints (what `--resume` continues). */
export type RunRecord = Omit<TrainRunOptions, 'signal' | 'onEvent' | 'stopAfter' | 'plugins'>;

export type TrainEvent =
  | {
      type: 'start';
      startStep: number;
      totalSteps: number;
      trainImages: number;
      model: string;
      resumed: boolean;
      /** Replica threads the steps run on (1: the main thread). */
      threads: number;
      /** The recipe in use: each setting with its origin. */
      recipe: RecipeEntry[];
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

export function checkOptions(o: TrainRunOptions): void {
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('steps', o.steps);
  positiveInt('batch size', o.batchSize);
  positiveInt('checkpoint interval', o.checkpointEvery);
  positiveInt('eval interval', o.evalEvery);
  positiveInt('checkpoints to keep', o.keep);
  positiveInt('stop step', o.stopAfter);
  if (!(o.crop[0] > 0 && o.crop[1] > 0))
    throw new ConfigError(`crop must be positive, got ${o.crop.join('x')}`);
  if (!(o.schedule.baseLr > 0))
    throw new ConfigError(`learning rate must be positive, got ${o.schedule.baseLr}`);
  if (o.catMaxRatio !== undefined && !(o.catMaxRatio > 0 && o.catMaxRatio <= 1))
    throw new ConfigError(`cat max ratio must be in (0, 1], got ${o.catMaxRatio}`);
  if (o.weightMap && o.sampler === 'object-centred')
    throw new ConfigError('--weight-map works on random crops, not with the object-centred sampler');
}

/**
 * The engine's run options from resolved settings (defaults filled by `resolveTrainSettings`);
 * `steps` already resolved (from `epochs` too).
 */
export function toRunOptions(
  s: TrainSettings & { model: string; data: string; out: string; steps: number },
  evalCrf: CrfOption | null,
): RunRecord {
  const need = <K extends keyof TrainSettings>(key: K): NonNullable<TrainSettings[K]> => {
    const value = s[key];
    if (value === undefined || value === null)
      throw new ConfigError(`setting '${key}' has no value (resolve settings over the defaults first)`);
    return value as NonNullable<TrainSettings[K]>;
  };
  if (s.lrPolicy === 'step' && s.lrStepSize === undefined)
    throw new ConfigError('the step lr policy needs a step size (--lr-step-size <steps>)');
  if (!s.weightMap && (s.weightMapW0 !== undefined || s.weightMapSigma !== undefined))
    throw new ConfigError('--weight-map-w0 and --weight-map-sigma set the weight map: add --weight-map');
  const [low, high] = need('scaleRange');
  if (low > high) throw new ConfigError(`scale range ${low},${high}: the low end is above the high end`);
  return {
    model: s.model,
    modelConfig: { ...(s.modelConfig ?? {}), ...(s.width !== undefined ? { width: s.width } : {}) },
    data: s.data,
    ...(s.classes ? { classes: s.classes } : {}),
    out: s.out,
    trainSplit: need('trainSplit'),
    valSplit: need('valSplit'),
    steps: s.steps,
    batchSize: need('batchSize'),
    crop: [...need('crop')] as [number, number],
    scaleRange: [low, high],
    flipProbability: need('flip') ? 0.5 : 0,
    ...(s.photometric ? { photometric: true } : {}),
    catMaxRatio: need('catMaxRatio'),
    sampler: need('sampler'),
    ...(s.classWeights ? { classWeights: s.classWeights } : {}),
    ...(s.weightMap
      ? {
          weightMap: {
            ...(s.weightMapW0 !== undefined ? { w0: s.weightMapW0 } : {}),
            ...(s.weightMapSigma !== undefined ? { sigma: s.weightMapSigma } : {}),
          },
        }
      : {}),
    optimizer: { type: need('optimizer'), momentum: need('momentum'), weightDecay: need('weightDecay') },
    schedule: {
      policy: need('lrPolicy'),
      baseLr: need('lr'),
      power: need('lrPower'),
      ...(s.lrStepSize !== undefined ? { stepSize: s.lrStepSize } : {}),
      gamma: need('lrGamma'),
    },
    lossReduction: need('lossReduction'),
    seed: need('seed'),
    ...(s.pretrained ? { pretrained: s.pretrained } : {}),
    ...(s.initFrom ? { initFrom: s.initFrom } : {}),
    ...(s.initFromPreset ? { initFromPreset: s.initFromPreset } : {}),
    checkpointEvery: need('checkpointEvery'),
    ...(s.keep ? { keep: s.keep } : {}),
    ...(s.saveBest ? { saveBest: s.saveBest } : {}),
    ...(s.evalEvery ? { evalEvery: s.evalEvery } : {}),
    evalCrf,
    logEvery: need('logEvery'),
    workers: need('workers'),
  };
}

/** Settings of an earlier run from its run.json (a RunRecord), for `--resume`. */
export function settingsFromRun(value: unknown, where: string): TrainSettings {
  const run = value as Partial<RunRecord> | null;
  if (!run || typeof run !== 'object') throw new ConfigError(`${where}: not a run record`);
  const settings: Record<string, unknown> = {
    model: run.model,
    modelConfig: run.modelConfig,
    data: run.data,
    classes: run.classes,
    trainSplit: run.trainSplit,
    valSplit: run.valSplit,
    steps: run.steps,
    batchSize: run.batchSize,
    crop: run.crop,
    scaleRange: run.scaleRange,
    flip: run.flipProbability === undefined ? undefined : run.flipProbability > 0,
    photometric: run.photometric,
    catMaxRatio: run.catMaxRatio,
    sampler: run.sampler,
    classWeights: run.classWeights,
    weightMap: run.weightMap ? true : undefined,
    weightMapW0: run.weightMap?.w0,
    weightMapSigma: run.weightMap?.sigma,
    optimizer: run.optimizer?.type,
    momentum: run.optimizer?.momentum,
    weightDecay: run.optimizer?.weightDecay,
    lr: run.schedule?.baseLr,
    lrPolicy: run.schedule?.policy,
    lrPower: run.schedule?.power,
    lrStepSize: run.schedule?.stepSize,
    lrGamma: run.schedule?.gamma,
    lossReduction: run.lossReduction,
    seed: run.seed,
    evalEvery: run.evalEvery,
    checkpointEvery: run.checkpointEvery,
    keep: run.keep,
    saveBest: run.saveBest,
    logEvery: run.logEvery,
    workers: run.workers,
  };
  for (const key of Object.keys(settings))
    if (settings[key] === undefined || settings[key] === null) delete settings[key];
  return parseTrainSettings(settings, where);
}
