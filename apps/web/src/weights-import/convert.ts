// A foreign weights file (PyTorch .pth / .safetensors, Caffe .caffemodel) into a semseg checkpoint,
// the steps `semseg import` takes (numClassesInFile, importWeights, the checkpoint writer) with the
// architecture found from the file's names instead of given. Runs in the import worker on tfjs'
// cpu backend; the page loads the result as any checkpoint.
import {
  type CheckpointMeta,
  type Rgb,
  Rng,
  encodeCheckpoint,
  getModelDefinition,
  listModels,
  validateModelConfig,
} from '@semseg/core';
import { candidateMaps, importWeights, numClassesInFile } from '@semseg/engine';
import { VOC_CLASSES, vocColorMap } from '@semseg/voc-data';
import { type WeightFile, WeightsError } from '@semseg/weights';
import { type DeviceBudget, weightsTooLarge } from '../device-budget.js';
import { type ArchitectureFit, describeMisfit, fitsExactly, rankArchitectures } from './match.js';

export type ImportStage = 'reading' | 'matching' | 'converting' | 'encoding';

export interface ImportSummary {
  file: string;
  /** The file's format (`pytorch`, `safetensors`, `caffe`). */
  format: string;
  architecture: string;
  /** The name map used (whose files these are). */
  map: string;
  tensors: number;
  numClasses: number;
  /** Architectures that fitted the names (more than one: the user chose). */
  fitted: string[];
}

export interface ConvertedModel {
  modelJsonText: string;
  weights: Uint8Array;
  summary: ImportSummary;
}

export interface ConvertOptions {
  budget: DeviceBudget;
  /** Asked when several architectures fit: the name chosen, or null to cancel. */
  choose(fits: ArchitectureFit[]): Promise<string | null>;
  progress?(stage: ImportStage): void;
}

/** The user cancelled the architecture choice. */
export class ImportCancelled extends Error {
  override readonly name = 'ImportCancelled';
}

const PRODUCER_NAMES = { pytorch: 'PyTorch', safetensors: 'safetensors', caffe: 'Caffe' } as const;

/** Class names and colours as `semseg import` gives them by default (VOC for 21 classes). */
export function defaultClasses(count: number): { classes: string[]; palette: Rgb[] } {
  const voc = vocColorMap();
  return {
    classes:
      count === VOC_CLASSES.length ? [...VOC_CLASSES] : Array.from({ length: count }, (_, i) => `class_${i}`),
    palette: Array.from({ length: count }, (_, i) => [...voc[i]!] as Rgb),
  };
}

/** The architecture the file is: the only one that fits its names, or the user's pick among several. */
async function chooseArchitecture(file: WeightFile, options: ConvertOptions): Promise<ArchitectureFit[]> {
  if (file.format === 'keras' || file.format === 'tfjs') {
    throw new WeightsError(
      file.file,
      `is a ${file.format === 'keras' ? 'Keras' : 'TF.js'} file: those hold ImageNet backbones only, not a segmentation model this page can run`,
    );
  }
  const ranked = rankArchitectures(file);
  if (ranked.length === 0) {
    const name = PRODUCER_NAMES[file.format as keyof typeof PRODUCER_NAMES] ?? file.format;
    throw new WeightsError(file.file, `no architecture of this page reads ${name} files`);
  }
  const fitting = ranked.filter(fitsExactly);
  if (fitting.length === 0) {
    throw new WeightsError(
      file.file,
      `fits no architecture of this page (${ranked.length} checked); ${describeMisfit(ranked[0]!)}`,
    );
  }
  return fitting;
}

/**
 * Converts `file` into a checkpoint: finds its architecture, refuses it when its weights exceed the
 * device budget (before any model is built at full size), then imports it as `semseg import` does.
 */
export async function convertWeightsFile(file: WeightFile, options: ConvertOptions): Promise<ConvertedModel> {
  options.progress?.('matching');
  const fitting = await chooseArchitecture(file, options);
  let fit = fitting[0]!;
  if (fitting.length > 1) {
    const chosen = await options.choose(fitting);
    if (chosen === null) throw new ImportCancelled(`${file.file}: import cancelled`);
    fit = fitting.find((f) => f.name === chosen) ?? fit;
  }
  const tooLarge = weightsTooLarge(
    fit.bytes,
    fit.largest ? { name: fit.largest.key, bytes: fit.largest.bytes } : null,
    options.budget,
  );
  if (tooLarge) throw new WeightsError(file.file, `is a ${fit.name}, too large for this device: ${tooLarge}`);

  options.progress?.('converting');
  const definition = getModelDefinition(fit.name);
  let config = validateModelConfig(fit.name, fit.options);
  let model = definition.create(config, { rng: new Rng(0) });
  try {
    // The file says how many classes it was trained for (score layers, classifier).
    const classCount = numClassesInFile(model, candidateMaps(model, definition, file), file);
    if (classCount !== null && classCount !== model.numClasses) {
      model.dispose();
      config = validateModelConfig(fit.name, { ...fit.options, numClasses: classCount });
      model = definition.create(config, { rng: new Rng(0) });
    }
    const report = await importWeights(model, definition, file);
    options.progress?.('encoding');
    const meta: CheckpointMeta = {
      architecture: { name: fit.name, config: (model.config ?? config) as Record<string, unknown> },
      ...defaultClasses(model.numClasses),
      normalization: report.normalization,
      training: null,
    };
    const { modelJson, weights } = await encodeCheckpoint(model.stateDict(), meta);
    return {
      modelJsonText: `${JSON.stringify(modelJson, null, 2)}\n`,
      weights,
      summary: {
        file: report.file,
        format: report.format,
        architecture: fit.name,
        map: report.map,
        tensors: report.loaded.length,
        numClasses: model.numClasses,
        fitted: fitting.map((f) => f.name),
      },
    };
  } finally {
    model.dispose();
  }
}

/** The registered architectures that have a name map for some foreign producer. */
export function importableArchitectures(): string[] {
  return listModels()
    .filter((d) => {
      try {
        return (d.weightMaps?.(validateModelConfig(d.name, {})) ?? []).length > 0;
      } catch {
        return false;
      }
    })
    .map((d) => d.name);
}
