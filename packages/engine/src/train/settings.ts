import { ConfigError, getTrainPreset } from '@semseg/core';
import { z } from 'zod';

/**
 * Everything a training run can be told, by a CLI flag, a config file, a preset or a resumed run:
 * one flat record whose keys are the CLI flags in camelCase. Every key is optional; missing keys
 * take `TRAIN_DEFAULTS`.
 */
export const trainSettingsSchema = z
  .object({
    model: z.string().min(1),
    modelConfig: z.record(z.string(), z.unknown()),
    width: z.number().positive().max(1),
    data: z.string().min(1),
    classes: z.string().min(1),
    out: z.string().min(1),
    trainSplit: z.string().min(1),
    valSplit: z.string().min(1),
    steps: z.number().int().positive(),
    epochs: z.number().positive(),
    batchSize: z.number().int().positive(),
    crop: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    scaleRange: z.tuple([z.number().positive(), z.number().positive()]),
    flip: z.boolean(),
    photometric: z.boolean(),
    /** The model's per-pixel loss weights on every crop (U-Net's weight map, eq. 2). */
    weightMap: z.boolean(),
    weightMapW0: z.number().min(0),
    weightMapSigma: z.number().positive(),
    sampler: z.enum(['random-crop', 'object-centred']),
    catMaxRatio: z.number().gt(0).max(1),
    classWeights: z.array(z.number().min(0)).min(2),
    optimizer: z.enum(['sgd', 'adam', 'rmsprop']),
    lr: z.number().positive(),
    lrPolicy: z.enum(['poly', 'step', 'fixed', 'exp']),
    lrPower: z.number().positive(),
    lrStepSize: z.number().int().positive(),
    lrGamma: z.number().positive(),
    momentum: z.number().min(0).lt(1),
    weightDecay: z.number().min(0),
    lossReduction: z.enum(['mean', 'sum']),
    seed: z.number().int().min(0),
    pretrained: z.string().min(1),
    initFrom: z.string().min(1),
    /** Set by a staged preset: the preset whose trained run `initFrom` must be. */
    initFromPreset: z.string().min(1),
    evalEvery: z.number().int().positive(),
    evalCrf: z.union([z.string(), z.record(z.string(), z.unknown())]),
    checkpointEvery: z.number().int().positive(),
    keep: z.number().int().positive(),
    saveBest: z.enum(['mIoU', 'mAcc', 'aAcc']),
    logEvery: z.number().int().positive(),
    workers: z.number().int().min(0).max(16),
  })
  .partial()
  .strict();

export type TrainSettings = z.infer<typeof trainSettingsSchema>;
export type TrainSettingKey = keyof TrainSettings;

export const TRAIN_DEFAULTS = {
  trainSplit: 'train',
  valSplit: 'val',
  steps: 1000,
  batchSize: 8,
  crop: [321, 321],
  scaleRange: [0.5, 2],
  flip: true,
  sampler: 'random-crop',
  catMaxRatio: 1,
  optimizer: 'sgd',
  lr: 1e-3,
  lrPolicy: 'poly',
  lrPower: 0.9,
  lrGamma: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  lossReduction: 'mean',
  seed: 0,
  checkpointEvery: 500,
  logEvery: 10,
  workers: 0,
} as const satisfies TrainSettings;

/** Where a setting's value came from, lowest to highest priority. */
export type SettingOrigin =
  | 'default'
  | `resumed run ${string}`
  | `preset ${string}`
  | `config ${string}`
  | 'flag';

/** One layer of settings and where it comes from. */
export interface SettingsLayer {
  origin: SettingOrigin;
  settings: TrainSettings;
}

export interface ResolvedSettings {
  settings: TrainSettings;
  /** The origin of every key that has a value, defaults included. */
  origins: Partial<Record<TrainSettingKey, SettingOrigin>>;
}

/** Validates a config file's object (keys as the flags in camelCase); the error names every bad key. */
export function parseTrainSettings(value: unknown, where: string): TrainSettings {
  const parsed = trainSettingsSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`${where}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Merges layers, later over earlier, on top of the defaults, recording each value's origin.
 * `modelConfig` merges key by key (a flag's `{"width": ...}` keeps a preset's other keys).
 */
export function resolveTrainSettings(layers: readonly SettingsLayer[]): ResolvedSettings {
  const settings: Record<string, unknown> = {};
  const origins: Partial<Record<TrainSettingKey, SettingOrigin>> = {};
  const all: SettingsLayer[] = [{ origin: 'default', settings: TRAIN_DEFAULTS as TrainSettings }, ...layers];
  for (const { origin, settings: layer } of all) {
    for (const [key, value] of Object.entries(layer) as Array<[TrainSettingKey, unknown]>) {
      if (value === undefined) continue;
      settings[key] =
        key === 'modelConfig'
          ? { ...((settings.modelConfig as Record<string, unknown> | undefined) ?? {}), ...(value as object) }
          : value;
      origins[key] = origin;
    }
  }
  return { settings: settings as TrainSettings, origins };
}

/** A registered preset as a settings layer (flags and config files still override it). */
export function presetSettings(name: string): TrainSettings {
  const preset = getTrainPreset(name);
  const { numClasses: _numClasses, ...modelConfig } = preset.modelConfig;
  const settings: TrainSettings = {
    model: preset.model,
    modelConfig,
    steps: preset.steps,
    batchSize: preset.batchSize,
    crop: preset.crop,
    scaleRange: preset.scaleRange,
    flip: preset.flipProbability > 0,
    optimizer: preset.optimizer.type,
    momentum: preset.optimizer.momentum,
    weightDecay: preset.optimizer.weightDecay,
    lr: preset.schedule.baseLr,
    lrPolicy: preset.schedule.policy,
    lrPower: preset.schedule.power,
    lrStepSize: preset.schedule.stepSize,
    lrGamma: preset.schedule.gamma,
    lossReduction: preset.lossReduction,
    trainSplit: preset.trainSplit,
    sampler: preset.sampler,
    classWeights: preset.classWeights ? [...preset.classWeights] : undefined,
    catMaxRatio: preset.catMaxRatio,
    initFromPreset: preset.initFrom,
  };
  for (const key of Object.keys(settings) as TrainSettingKey[])
    if (settings[key] === undefined) delete settings[key];
  return settings;
}

/**
 * A staged preset (FCN-16s from FCN-32s) must be given the earlier stage's run: a one-line error
 * that says how, rather than training the later stage from scratch.
 */
export function checkStagedStart(settings: TrainSettings, resumed: boolean): void {
  if (resumed || !settings.initFromPreset || settings.initFrom) return;
  throw new ConfigError(
    `this recipe starts from a trained ${settings.initFromPreset} run, as the paper's staged training: ` +
      `pass --init-from <that run's folder or checkpoint> (train one with --preset ${settings.initFromPreset})`,
  );
}
