// Which registered architectures a foreign weights file (PyTorch, Caffe) can be: the ones whose
// name maps account for every tensor of the file and give every parameter a tensor. Names only:
// shapes are checked when the chosen architecture is built at full size (importWeights).
import { type ModelDefinition, Rng, type WeightNameMap, listModels, validateModelConfig } from '@semseg/core';
import type { WeightFile } from '@semseg/weights';

/**
 * The widths the name check builds models at, smallest first: 1/16 of the channels is 1/256 of
 * the parameters, and every architecture has its full names there except MobileNetV3 (whose
 * expansion layers vanish below 1/4 when the rounded channels match); a near miss (the model
 * takes at least half of the file's tensors) is checked again at the next width, the last being
 * the architecture's defaults.
 */
export const PROBE_WIDTHS = [1 / 16, 1 / 4] as const;

export interface ArchitectureFit {
  name: string;
  description: string;
  /** The name map that fits best (its description). */
  map: string;
  /**
   * Config options the file needs beyond the defaults (`{ auxLoss: false }` for a torchvision
   * state_dict saved without its auxiliary head), applied when the model is built at full size.
   */
  options: Record<string, unknown>;
  missing: string[];
  unexpected: string[];
  /** Float32 bytes of the file's tensors the model would take, and its largest one. */
  bytes: number;
  largest: { key: string; bytes: number } | null;
}

function producerOf(file: WeightFile): 'pytorch' | 'caffe' | null {
  if (file.format === 'caffe') return 'caffe';
  if (file.format === 'pytorch' || file.format === 'safetensors') return 'pytorch';
  return null;
}

/** The configs to probe an architecture at: PROBE_WIDTHS where it takes a width, then its defaults. */
function probeConfigs(
  definition: ModelDefinition,
  options: Record<string, unknown>,
): Array<Record<string, unknown>> {
  const configs: Array<Record<string, unknown>> = [];
  for (const config of [...PROBE_WIDTHS.map((width) => ({ width })), {}]) {
    try {
      configs.push(validateModelConfig(definition.name, { ...options, ...config }));
    } catch {
      // no width option, or a config of its own needed
    }
  }
  return configs;
}

/**
 * The option sets worth trying: the defaults, and the other value of an auxiliary-head switch
 * (files are saved with and without torchvision's aux_classifier).
 */
function optionVariants(definition: ModelDefinition): Array<Record<string, unknown>> {
  const variants: Array<Record<string, unknown>> = [{}];
  try {
    const defaults = validateModelConfig(definition.name, {});
    if (typeof defaults.auxLoss === 'boolean') variants.push({ auxLoss: !defaults.auxLoss });
  } catch {
    // no defaults: probeConfigs skips it
  }
  return variants;
}

function fitOf(
  file: WeightFile,
  names: readonly string[],
  map: WeightNameMap,
): Omit<ArchitectureFit, 'name' | 'description' | 'options'> {
  const missing: string[] = [];
  const used = new Set<string>();
  let bytes = 0;
  let largest: ArchitectureFit['largest'] = null;
  for (const name of names) {
    const source = map.source(name);
    if (!source || !file.tensors.has(source.key)) {
      missing.push(source ? source.key : name);
      continue;
    }
    used.add(source.key);
    if (source.divideBy) used.add(source.divideBy);
    const size = file.tensors.get(source.key)!.shape.reduce((a, b) => a * b, 1) * 4;
    bytes += size;
    if (!largest || size > largest.bytes) largest = { key: source.key, bytes: size };
  }
  const unexpected = [...file.tensors.keys()].filter((k) => !used.has(k) && !map.ignore?.(k));
  return { map: map.description, missing, unexpected, bytes, largest };
}

const problemCount = (fit: Pick<ArchitectureFit, 'missing' | 'unexpected'>) =>
  fit.missing.length + fit.unexpected.length;

/**
 * Every registered architecture with a name map for the file's producer, best fit first; each
 * model is built once at PROBE_WIDTH to read its parameter names, and disposed.
 */
export function rankArchitectures(file: WeightFile, definitions = listModels()): ArchitectureFit[] {
  const producer = producerOf(file);
  if (!producer) return [];
  const fits: ArchitectureFit[] = [];
  for (const definition of definitions) {
    let best: ArchitectureFit | null = null;
    for (const options of optionVariants(definition)) {
      let variant: ArchitectureFit | null = null;
      for (const config of probeConfigs(definition, options)) {
        const maps = (definition.weightMaps?.(config) ?? []).filter((m) => m.format === producer);
        if (maps.length === 0) break;
        const probe = definition.create(config, { rng: new Rng(0) });
        let names: string[];
        try {
          names = Object.keys(probe.stateDict());
        } finally {
          probe.dispose();
        }
        const fit = maps
          .map((map) => fitOf(file, names, map))
          .sort((a, b) => problemCount(a) - problemCount(b))[0]!;
        variant = { name: definition.name, description: definition.description, options, ...fit };
        const taken = file.tensors.size - fit.unexpected.length;
        if (problemCount(fit) === 0 || taken < file.tensors.size / 2) break;
      }
      if (variant && (!best || problemCount(variant) < problemCount(best))) best = variant;
      if (best && problemCount(best) === 0) break;
    }
    if (best) fits.push(best);
  }
  return fits.sort((a, b) => problemCount(a) - problemCount(b));
}

export function fitsExactly(fit: ArchitectureFit): boolean {
  return problemCount(fit) === 0;
}

function listSome(keys: readonly string[], count = 3): string {
  const shown = keys.slice(0, count).map((k) => `'${k}'`);
  return keys.length > count ? `${shown.join(', ')} and ${keys.length - count} more` : shown.join(', ');
}

/** Why the closest architecture does not fit, in one sentence. */
export function describeMisfit(fit: ArchitectureFit): string {
  const parts: string[] = [];
  if (fit.missing.length > 0) parts.push(`it lacks ${fit.missing.length} tensors (${listSome(fit.missing)})`);
  if (fit.unexpected.length > 0)
    parts.push(`${fit.unexpected.length} of its tensors have no place (${listSome(fit.unexpected)})`);
  return `closest: ${fit.name} (${fit.map}), but ${parts.join(' and ')}`;
}
