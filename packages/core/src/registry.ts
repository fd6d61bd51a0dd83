import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import type { Module } from './module.js';
import type { ModelPlugin, TrainPreset, TrainingOutput } from './plugin.js';
import type { Rng } from './rng.js';
import type { Normalization } from './types.js';

/** What a model factory receives besides its config. */
export interface ModelContext {
  /** Seeded generator for initialisation. */
  rng: Rng;
}

/** A segmentation model as the engine sees it: logits N x H x W x C at input resolution. */
export interface SegmentationModel extends Module {
  readonly numClasses: number;
  /** How inputs must be prepared for this model's weights, when the model knows (its backbone's). */
  readonly normalization?: Normalization;
  forward(images: Tensor4D): Tensor4D;
  /**
   * For models whose output is smaller than their input (U-Net with valid convolutions): the
   * output height and width `forward` gives for an input's, centred in the input. The engine's
   * inference then feeds mirrored context and tiles (the overlap-tile strategy). Absent: equal.
   */
  outputSize?(inputSize: [number, number]): [number, number];
  /**
   * The terms of the training loss, when they are not just `forward` against the labels: auxiliary
   * heads (torchvision, PSPNet), every scale of a multi-scale input (DeepLab MSC), labels
   * subsampled to the output stride (DeepLab's released models). Runs in training mode, inside the
   * trainer's gradient scope; `labels` is N x H x W int32 at the input's size, `pixelWeights` (when
   * the caller gives per-pixel loss weights) N x H x W float32.
   */
  trainingOutputs?(images: Tensor4D, labels: Tensor3D, pixelWeights?: Tensor3D): TrainingOutput[];
  /** The resolved config, as the registry's factory would take it back (written to checkpoints). */
  readonly config?: Record<string, unknown>;
}

export interface ModelDefinition<
  C extends Record<string, unknown> = Record<string, unknown>,
  M extends SegmentationModel = SegmentationModel,
> extends ModelPlugin<C, M> {
  /** Registry name, e.g. `fcn8s`. */
  name: string;
  /** One line for `semseg info` and the web page. */
  description: string;
  /** Validates (and fills defaults of) a config. */
  configSchema: z.ZodType<C>;
  create(config: C, context: ModelContext): M;
}

// One registry per process, even when two copies of @semseg/core are loaded.
const REGISTRY_KEY = Symbol.for('semseg.modelRegistry');
type Registry = Map<string, ModelDefinition>;
function registry(): Registry {
  const g = globalThis as { [REGISTRY_KEY]?: Registry };
  g[REGISTRY_KEY] ??= new Map();
  return g[REGISTRY_KEY];
}

/** Registers an architecture; registering the same name twice replaces the first definition. */
export function registerModel<C extends Record<string, unknown>, M extends SegmentationModel>(
  definition: ModelDefinition<C, M>,
): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(definition.name)) {
    throw new ConfigError(`model name '${definition.name}' must be lower case letters, digits, '-' or '_'`);
  }
  registry().set(definition.name, definition as unknown as ModelDefinition);
}

export function listModels(): ModelDefinition[] {
  return [...registry().values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function getModelDefinition(name: string): ModelDefinition {
  const def = registry().get(name);
  if (!def) {
    const known = listModels().map((m) => m.name);
    throw new ConfigError(
      `unknown model '${name}'; registered models: ${known.length > 0 ? known.join(', ') : '(none: import a model package such as @semseg/fcn)'}`,
    );
  }
  return def;
}

/** Validates a config against a model's schema; the error names every bad field. */
export function validateModelConfig(name: string, config: unknown): Record<string, unknown> {
  const def = getModelDefinition(name);
  const parsed = def.configSchema.safeParse(config ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid config for model '${name}': ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** Builds a registered model from its name and config. */
export function createModel(name: string, config: unknown, context: ModelContext): SegmentationModel {
  const valid = validateModelConfig(name, config);
  return getModelDefinition(name).create(valid, context);
}

// Training presets, registered by model packages next to their architectures.
const PRESET_KEY = Symbol.for('semseg.trainPresets');
function presets(): Map<string, TrainPreset> {
  const g = globalThis as { [PRESET_KEY]?: Map<string, TrainPreset> };
  g[PRESET_KEY] ??= new Map();
  return g[PRESET_KEY];
}

/** Registers a paper's training recipe (replacing one of the same name). */
export function registerTrainPreset(preset: TrainPreset): void {
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(preset.name)) {
    throw new ConfigError(`preset name '${preset.name}' must be lower case letters, digits, '-', '.' or '_'`);
  }
  presets().set(preset.name, preset);
}

export function listTrainPresets(): TrainPreset[] {
  return [...presets().values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function getTrainPreset(name: string): TrainPreset {
  const preset = presets().get(name);
  if (!preset) {
    const known = listTrainPresets().map((p) => p.name);
    throw new ConfigError(
      `unknown preset '${name}'; registered presets: ${known.length > 0 ? known.join(', ') : '(none: import a model package)'}`,
    );
  }
  return preset;
}
