// Weights of another framework's file into a model, by the name maps its package registered.
import type {
  ModelDefinition,
  Normalization,
  SegmentationModel,
  StateDict,
  WeightNameMap,
  WeightsInput,
} from '@semseg/core';
import { type WeightFile, WeightsError, type WeightsPlan, planWeights, readWeights } from '@semseg/weights';
import * as tf from '@tensorflow/tfjs-core';

export interface ImportWeightsOptions {
  /** Which producer's names to use; default: the file's (safetensors and .pth are PyTorch's). */
  format?: 'pytorch' | 'caffe';
  /** A backbone-only file: parameters it lacks stay as initialised. */
  allowMissing?: boolean;
  /** A name map to use instead of the architecture's own. */
  map?: WeightNameMap;
}

export interface ImportReport {
  file: string;
  /** The file's format (`caffe`, `pytorch`, `safetensors`...). */
  format: string;
  /** The name map that fit (its description). */
  map: string;
  loaded: string[];
  /** Parameters the file lacks, left as initialised (only with allowMissing). */
  missing: string[];
  /** How the producer's model takes images: record it with the weights. */
  normalization: Normalization;
}

/** Reads a file given by path (Node, through @semseg/weights/node) or by name and bytes. */
export async function readWeightsInput(input: WeightsInput): Promise<WeightFile & { close?(): void }> {
  if (typeof input !== 'string') return readWeights(input);
  // Hidden from bundlers: the browser passes bytes, only Node reads paths.
  const specifier = '@semseg/weights/node';
  const node = (await import(/* @vite-ignore */ specifier)) as typeof import('@semseg/weights/node');
  return node.readWeightsFile(input);
}

export function producerOf(file: WeightFile): 'pytorch' | 'caffe' {
  if (file.format === 'caffe') return 'caffe';
  if (file.format === 'pytorch' || file.format === 'safetensors') return 'pytorch';
  throw new WeightsError(
    file.file,
    `is a ${file.format === 'keras' ? 'Keras' : 'TF.js'} file: those hold ImageNet backbones only (use --pretrained)`,
  );
}

/** The parameter shapes of a model, by name. */
export function parameterShapes(model: SegmentationModel): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(model.stateDict())) shapes[name] = [...t.shape];
  return shapes;
}

/** The name maps an import tries: the one given, or the architecture's for the file's producer. */
export function candidateMaps(
  model: SegmentationModel,
  definition: ModelDefinition,
  file: WeightFile,
  options: Pick<ImportWeightsOptions, 'format' | 'map'> = {},
): WeightNameMap[] {
  if (options.map) return [options.map];
  const format = options.format ?? producerOf(file);
  return (definition.weightMaps?.(model.config ?? {}) ?? []).filter((m) => m.format === format);
}

/** Checks each candidate name map; the first that fits wins, else the error with the fewest problems. */
function mapWithFirstFit(
  file: WeightFile,
  maps: readonly WeightNameMap[],
  targets: Record<string, number[]>,
  allowMissing: boolean,
): { mapped: WeightsPlan; map: WeightNameMap } {
  let best: Error | undefined;
  for (const map of maps) {
    try {
      return { mapped: planWeights(file, map, targets, { allowMissing }), map };
    } catch (e) {
      if (!(e instanceof WeightsError)) throw e;
      if (!best || e.message.length < best.message.length) best = e;
    }
  }
  throw best!;
}

/**
 * Loads a foreign file (safetensors, .pth, .caffemodel) into `model` by the architecture's name
 * maps. Every parameter must be matched unless `allowMissing`; names and shapes are all checked
 * before the first tensor is loaded, so a file that does not fit leaves the model untouched (only
 * a read failing part-way, a disk error, could leave it partly loaded). No tensor is left behind.
 */
export async function importWeights(
  model: SegmentationModel,
  definition: ModelDefinition,
  input: WeightsInput | WeightFile,
  options: ImportWeightsOptions = {},
): Promise<ImportReport> {
  const file = typeof input !== 'string' && 'tensors' in input ? input : await readWeightsInput(input);
  try {
    const format = options.format ?? producerOf(file);
    const maps = candidateMaps(model, definition, file, options);
    if (maps.length === 0) {
      const known = (definition.weightMaps?.(model.config ?? {}) ?? []).map(
        (m) => `${m.format}: ${m.description}`,
      );
      throw new WeightsError(
        file.file,
        `architecture '${definition.name}' has no ${format} name map${known.length > 0 ? ` (it has ${known.join('; ')})` : ''}`,
      );
    }
    const { mapped, map } = mapWithFirstFit(
      file,
      maps,
      parameterShapes(model),
      options.allowMissing ?? false,
    );
    // Everything is checked above; now one tensor at a time (converted, loaded, released), so
    // that a large model is not held twice.
    for (const name of mapped.loaded) {
      const { shape, data } = mapped.convert(name);
      const dict: StateDict = { [name]: tf.tensor(data, shape, 'float32') };
      try {
        model.loadStateDict(dict, { strict: false, source: file.file });
      } finally {
        tf.dispose(Object.values(dict));
      }
    }
    return {
      file: file.file,
      format: file.format,
      map: map.description,
      loaded: mapped.loaded,
      missing: mapped.missing,
      normalization: map.normalization,
    };
  } finally {
    // A file this call opened is closed here; one passed in read stays with its reader.
    if (file !== input) (file as { close?: () => void }).close?.();
  }
}
