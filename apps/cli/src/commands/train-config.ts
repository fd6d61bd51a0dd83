import { TRAIN_PRESETS } from '@semseg/engine';
import type { CrfOption } from '@semseg/engine';
import type { TrainRunOptions } from '@semseg/engine/node';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** Everything `semseg train` can be told, by flags, a --config file, a --preset or a resumed run. */
export const trainSettingsSchema = z
  .object({
    model: z.string().min(1),
    modelConfig: z.record(z.string(), z.unknown()),
    width: z.number().positive().max(1),
    data: z.string().min(1),
    out: z.string().min(1),
    trainSplit: z.string().min(1),
    valSplit: z.string().min(1),
    steps: z.number().int().positive(),
    epochs: z.number().positive(),
    batchSize: z.number().int().positive(),
    crop: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    scaleRange: z.tuple([z.number().positive(), z.number().positive()]),
    flip: z.boolean(),
    optimizer: z.enum(['sgd', 'adam']),
    lr: z.number().positive(),
    lrPolicy: z.enum(['poly', 'step', 'fixed']),
    lrPower: z.number().positive(),
    lrStepSize: z.number().int().positive(),
    lrGamma: z.number().positive(),
    momentum: z.number().min(0).lt(1),
    weightDecay: z.number().min(0),
    seed: z.number().int().min(0),
    pretrained: z.string().min(1),
    initFrom: z.string().min(1),
    evalEvery: z.number().int().positive(),
    evalCrf: z.union([z.string(), z.record(z.string(), z.unknown())]),
    checkpointEvery: z.number().int().positive(),
    logEvery: z.number().int().positive(),
    workers: z.number().int().min(0).max(16),
  })
  .partial()
  .strict();

export type TrainSettings = z.infer<typeof trainSettingsSchema>;

export const TRAIN_DEFAULTS = {
  trainSplit: 'train',
  valSplit: 'val',
  steps: 1000,
  batchSize: 8,
  crop: [321, 321],
  scaleRange: [0.5, 2],
  flip: true,
  optimizer: 'sgd',
  lr: 1e-3,
  lrPolicy: 'poly',
  lrPower: 0.9,
  lrGamma: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 0,
  checkpointEvery: 500,
  logEvery: 10,
  workers: 0,
} as const satisfies TrainSettings;

/** Parses a --config file's object (or a run.json written by a previous run). */
export function parseTrainSettings(value: unknown, where: string): TrainSettings {
  const parsed = trainSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new UsageError(`${where}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** A paper's recipe from the engine as settings (flags and --config still override it). */
export function presetSettings(name: string): TrainSettings {
  const preset = TRAIN_PRESETS[name];
  if (!preset)
    throw new UsageError(`unknown preset '${name}'; one of ${Object.keys(TRAIN_PRESETS).join(', ')}`);
  const { numClasses: _numClasses, ...modelConfig } = preset.modelConfig;
  return {
    model: preset.model,
    modelConfig,
    steps: preset.steps,
    batchSize: preset.batchSize,
    crop: preset.crop,
    scaleRange: preset.scaleRange,
    flip: preset.flipProbability > 0,
    optimizer: preset.optimizer.type,
    ...(preset.optimizer.momentum !== undefined ? { momentum: preset.optimizer.momentum } : {}),
    ...(preset.optimizer.weightDecay !== undefined ? { weightDecay: preset.optimizer.weightDecay } : {}),
    lr: preset.schedule.baseLr,
    lrPolicy: preset.schedule.policy,
    ...(preset.schedule.power !== undefined ? { lrPower: preset.schedule.power } : {}),
    ...(preset.schedule.stepSize !== undefined ? { lrStepSize: preset.schedule.stepSize } : {}),
    ...(preset.schedule.gamma !== undefined ? { lrGamma: preset.schedule.gamma } : {}),
  };
}

/** The engine's run options from merged settings; `steps` already resolved (from --epochs too). */
export function toRunOptions(
  s: TrainSettings & { model: string; data: string; out: string; steps: number },
  evalCrf: CrfOption | null,
): Omit<TrainRunOptions, 'signal' | 'onEvent'> {
  if (s.lrPolicy === 'step' && s.lrStepSize === undefined) {
    throw new UsageError('--lr-policy step needs --lr-step-size <steps>');
  }
  const [low, high] = s.scaleRange ?? TRAIN_DEFAULTS.scaleRange;
  if (low > high) throw new UsageError(`--scale-range ${low},${high}: the low end is above the high end`);
  return {
    model: s.model,
    modelConfig: { ...(s.modelConfig ?? {}), ...(s.width !== undefined ? { width: s.width } : {}) },
    data: s.data,
    out: s.out,
    trainSplit: s.trainSplit ?? TRAIN_DEFAULTS.trainSplit,
    valSplit: s.valSplit ?? TRAIN_DEFAULTS.valSplit,
    steps: s.steps,
    batchSize: s.batchSize ?? TRAIN_DEFAULTS.batchSize,
    crop: [...(s.crop ?? TRAIN_DEFAULTS.crop)] as [number, number],
    scaleRange: [low, high],
    flipProbability: (s.flip ?? TRAIN_DEFAULTS.flip) ? 0.5 : 0,
    optimizer: {
      type: s.optimizer ?? TRAIN_DEFAULTS.optimizer,
      momentum: s.momentum ?? TRAIN_DEFAULTS.momentum,
      weightDecay: s.weightDecay ?? TRAIN_DEFAULTS.weightDecay,
    },
    schedule: {
      policy: s.lrPolicy ?? TRAIN_DEFAULTS.lrPolicy,
      baseLr: s.lr ?? TRAIN_DEFAULTS.lr,
      power: s.lrPower ?? TRAIN_DEFAULTS.lrPower,
      ...(s.lrStepSize !== undefined ? { stepSize: s.lrStepSize } : {}),
      gamma: s.lrGamma ?? TRAIN_DEFAULTS.lrGamma,
    },
    seed: s.seed ?? TRAIN_DEFAULTS.seed,
    ...(s.pretrained ? { pretrained: s.pretrained } : {}),
    ...(s.initFrom ? { initFrom: s.initFrom } : {}),
    checkpointEvery: s.checkpointEvery ?? TRAIN_DEFAULTS.checkpointEvery,
    ...(s.evalEvery ? { evalEvery: s.evalEvery } : {}),
    evalCrf,
    logEvery: s.logEvery ?? TRAIN_DEFAULTS.logEvery,
    workers: s.workers ?? TRAIN_DEFAULTS.workers,
  };
}

/** Settings of an earlier run from its run.json (the engine's run options), for --resume. */
export function settingsFromRun(value: unknown, where: string): TrainSettings {
  const run = value as Partial<Omit<TrainRunOptions, 'signal' | 'onEvent'>> | null;
  if (!run || typeof run !== 'object') throw new UsageError(`${where}: not a run record`);
  const settings: Record<string, unknown> = {
    model: run.model,
    modelConfig: run.modelConfig,
    data: run.data,
    trainSplit: run.trainSplit,
    valSplit: run.valSplit,
    steps: run.steps,
    batchSize: run.batchSize,
    crop: run.crop,
    scaleRange: run.scaleRange,
    flip: run.flipProbability === undefined ? undefined : run.flipProbability > 0,
    optimizer: run.optimizer?.type,
    momentum: run.optimizer?.momentum,
    weightDecay: run.optimizer?.weightDecay,
    lr: run.schedule?.baseLr,
    lrPolicy: run.schedule?.policy,
    lrPower: run.schedule?.power,
    lrStepSize: run.schedule?.stepSize,
    lrGamma: run.schedule?.gamma,
    seed: run.seed,
    evalEvery: run.evalEvery,
    checkpointEvery: run.checkpointEvery,
    logEvery: run.logEvery,
    workers: run.workers,
  };
  for (const key of Object.keys(settings))
    if (settings[key] === undefined || settings[key] === null) delete settings[key];
  return parseTrainSettings(settings, where);
}
