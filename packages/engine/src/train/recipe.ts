import type { Normalization, ParameterGroup } from '@semseg/core';
import type { SettingOrigin, TrainSettings } from './settings.js';

/** One line of the recipe a run uses: what, its value, and where the value came from. */
export interface RecipeEntry {
  name: string;
  value: string;
  origin: string;
}

/** The values a recipe describes (a run's options, without the engine's types). */
export interface RecipeInput {
  model: string;
  modelConfig?: Record<string, unknown>;
  trainSplit?: string;
  steps: number;
  batchSize: number;
  crop: readonly [number, number];
  scaleRange?: readonly [number, number];
  flipProbability?: number;
  catMaxRatio?: number;
  photometric?: boolean;
  classWeights?: readonly number[];
  weightMap?: Readonly<Record<string, number>>;
  optimizer: { type: string; momentum?: number; weightDecay?: number };
  schedule: { policy: string; baseLr: number; power?: number; stepSize?: number; gamma?: number };
  lossReduction?: string;
  seed?: number;
  pretrained?: string;
  initFrom?: string;
}

type Origins = Partial<Record<keyof TrainSettings, SettingOrigin>>;

/** Groups parameters by multipliers: `lr x2 decay x0: 16 tensors (e.g. score_fr.bias)`. */
function describeGroups(groups: ReadonlyArray<{ name: string } & ParameterGroup>): string {
  const byKey = new Map<string, string[]>();
  for (const g of groups) {
    const key = `lr x${g.lrMultiplier} decay x${g.decayMultiplier}`;
    byKey.set(key, [...(byKey.get(key) ?? []), g.name]);
  }
  return [...byKey].map(([key, names]) => `${key}: ${names.length} tensor(s) (e.g. ${names[0]})`).join('; ');
}

function describeNormalization(n: Normalization): string {
  const order = n.channelOrder.toUpperCase();
  const range = n.scale === 255 ? '0-255' : '0-1';
  const std = n.std.every((s) => s === 1) ? '' : `, divided by [${n.std.join(', ')}]`;
  return `${order} ${range} minus [${n.mean.join(', ')}]${std}`;
}

/**
 * The recipe in use, each value with its origin (default, preset, config, flag, resumed run, or
 * the model definition): printed when training starts and written to run.json.
 */
export function describeRecipe(
  run: RecipeInput,
  origins: Origins,
  groups: ReadonlyArray<{ name: string } & ParameterGroup>,
  normalization: Normalization,
  modelOrigin: string,
): RecipeEntry[] {
  const from = (...keys: Array<keyof TrainSettings>): string => {
    const seen = [...new Set(keys.map((k) => origins[k] ?? 'default'))];
    return seen.join(', ');
  };
  const o = run.optimizer;
  const s = run.schedule;
  const schedule =
    s.policy === 'poly'
      ? `poly (power ${s.power ?? 0.9})`
      : s.policy === 'step'
        ? `step (x${s.gamma ?? 0.1} every ${s.stepSize} steps)`
        : s.policy === 'exp'
          ? `exp (x${s.gamma ?? 0.1} per step)`
          : 'fixed';
  const optimizer =
    o.type === 'sgd'
      ? `sgd (Caffe's update), momentum ${o.momentum ?? 0.9}, weight decay ${o.weightDecay ?? 5e-4}`
      : `${o.type}, weight decay ${o.weightDecay ?? 5e-4}`;
  const loss =
    run.lossReduction === 'sum'
      ? "cross-entropy summed over labelled pixels (Caffe's normalize: false)"
      : 'cross-entropy averaged over labelled pixels';
  const weights = run.classWeights ? `, class weights [${run.classWeights.join(', ')}]` : '';
  const weightMap = run.weightMap
    ? `, per-pixel weight map${
        Object.keys(run.weightMap).length > 0
          ? ` (${Object.entries(run.weightMap)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`
          : " (the model's defaults)"
      }`
    : '';
  const [low, high] = run.scaleRange ?? [1, 1];
  const init = [
    run.pretrained ? `pretrained ${run.pretrained}` : '',
    run.initFrom ? `init from ${run.initFrom}` : '',
  ].filter(Boolean);
  return [
    {
      name: 'model',
      value: `${run.model} ${JSON.stringify(run.modelConfig ?? {})}`,
      origin: from('model', 'modelConfig', 'width'),
    },
    {
      name: 'optimizer',
      value: optimizer,
      origin:
        o.type === 'sgd' ? from('optimizer', 'momentum', 'weightDecay') : from('optimizer', 'weightDecay'),
    },
    {
      name: 'learning rate',
      value: `${s.baseLr}, ${schedule}, ${run.steps} steps`,
      origin: from('lr', 'lrPolicy', 'steps'),
    },
    { name: 'multipliers', value: describeGroups(groups), origin: modelOrigin },
    {
      name: 'loss',
      value: `${loss}${weights}${weightMap}`,
      origin: from('lossReduction', 'classWeights', ...(run.weightMap ? (['weightMap'] as const) : [])),
    },
    {
      name: 'batches',
      value: `${run.batchSize} x ${run.crop[0]}x${run.crop[1]} crops, scale ${low}-${high}, flip p ${run.flipProbability ?? 0}, cat max ratio ${run.catMaxRatio ?? 1}, photometric ${run.photometric ? 'on' : 'off'}`,
      origin: from('batchSize', 'crop', 'scaleRange', 'flip', 'catMaxRatio', 'photometric'),
    },
    { name: 'data', value: `split ${run.trainSplit ?? 'train'}`, origin: from('trainSplit', 'data') },
    { name: 'normalization', value: describeNormalization(normalization), origin: modelOrigin },
    {
      name: 'initialisation',
      value: `${init.length > 0 ? init.join(', ') : 'random'} (seed ${run.seed ?? 0})`,
      origin: from('pretrained', 'initFrom', 'seed'),
    },
  ];
}

/** The recipe as aligned text lines: `  optimizer      sgd ...   [preset fcn8s-voc]`. */
export function formatRecipe(entries: readonly RecipeEntry[]): string[] {
  const width = Math.max(...entries.map((e) => e.name.length));
  return entries.map((e) => `  ${e.name.padEnd(width)}  ${e.value}  [${e.origin}]`);
}
