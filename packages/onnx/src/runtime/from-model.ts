import type { SegmentationModel } from '@semseg/core';
import { exportOnnx } from '../export.js';
import { ExportedGraphs, OnnxSegmentationModel, type OrtRuntime } from './network.js';

export interface ModelOnRuntimeOptions {
  /** Sessions kept, one per size class (a fixed-size graph: per input size; default 2). */
  cacheSize?: number;
  /** What errors call the model (a checkpoint path). */
  source?: string;
  /**
   * `exportOnnx`'s dynamicSize for every export. By default the first size gets a fixed graph
   * (a dynamic one costs two more traces and translations, about 3x the export time) and later
   * sizes a dynamic one where the architecture allows it: a folder of same-size images or
   * sliding windows pay one fast export, a folder of mixed sizes one export per size class.
   */
  dynamicSize?: boolean | 'auto';
}

/**
 * A model in memory with its network on `runtime` (onnxruntime-node or -web), exported
 * (`exportOnnx`) at batch 1 (windows run one after another; the runtime's threads split each
 * operator): the first input size at its own size, later ones with a dynamic size where the
 * architecture allows it, so that one session serves every size of a residue class (modulo the
 * total stride) and a new export is made only for a size no kept graph serves. The tfjs model is only read at export, not disposed.
 */
export function onnxModelOn(
  runtime: OrtRuntime,
  model: SegmentationModel,
  options: ModelOnRuntimeOptions = {},
): OnnxSegmentationModel {
  let exports = 0;
  const graphs = new ExportedGraphs(
    runtime,
    (height, width) =>
      exportOnnx(model, {
        height,
        width,
        batch: 1,
        dynamicSize: options.dynamicSize ?? (exports++ === 0 ? false : 'auto'),
      }),
    options.source ?? 'model',
    options.cacheSize ?? 2,
  );
  return new OnnxSegmentationModel(runtime, graphs, {
    numClasses: model.numClasses,
    ...(model.normalization ? { normalization: model.normalization } : {}),
    ...(model.config ? { config: model.config } : {}),
    ...(model.outputSize ? { outputSize: (size) => model.outputSize!(size) } : {}),
  });
}
