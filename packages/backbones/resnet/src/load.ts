import type { Module, PretrainedReport, WeightNameMap, WeightsInput } from '@semseg/core';
import { type WeightFile, mapWeights, readWeights } from '@semseg/weights';
import * as tf from '@tensorflow/tfjs-core';

export interface LoadTorchWeightsOptions {
  /** Our parameters the map covers but the file lacks stay as they are instead of failing. */
  allowMissing?: boolean;
}

async function read(input: WeightsInput): Promise<WeightFile & { close?(): void }> {
  if (typeof input !== 'string') return readWeights(input);
  // A path: Node's positioned reader, behind a specifier bundlers do not follow, so that a browser
  // build (the web page) never pulls node:fs in.
  const specifier = '@semseg/weights/node';
  const node = (await import(/* @vite-ignore */ specifier)) as typeof import('@semseg/weights/node');
  return node.readWeightsFile(input);
}

/**
 * Loads a PyTorch file (.pth, .safetensors) into `module` through a name map: every parameter the
 * map has a source for must be in the file with the right shape (one error lists every problem),
 * every file tensor must be used or ignored by the map; the rest of the module stays as it is
 * (a backbone file into a whole segmentation model).
 */
export async function loadTorchWeights(
  module: Module,
  map: WeightNameMap,
  input: WeightsInput,
  options: LoadTorchWeightsOptions = {},
): Promise<PretrainedReport> {
  const file = await read(input);
  try {
    return loadFrom(file, module, map, options);
  } finally {
    file.close?.();
  }
}

function loadFrom(
  file: WeightFile,
  module: Module,
  map: WeightNameMap,
  options: LoadTorchWeightsOptions,
): PretrainedReport {
  const targets: Record<string, number[]> = {};
  const notCovered: string[] = [];
  for (const entry of module.namedEntries()) {
    if (map.source(entry.name)) targets[entry.name] = entry.variable.shape;
    else notCovered.push(entry.name);
  }
  const mapped = mapWeights(file, map, targets, { allowMissing: options.allowMissing ?? false });
  const dict = Object.fromEntries(
    Object.entries(mapped.values).map(([name, v]) => [name, tf.tensor(v.data, v.shape, 'float32')]),
  );
  try {
    module.loadStateDict(dict, { strict: false, source: file.file });
  } finally {
    tf.dispose(Object.values(dict));
  }
  return {
    file: file.file,
    format: file.format,
    loaded: mapped.loaded,
    notInSource: [...mapped.missing, ...notCovered],
  };
}
