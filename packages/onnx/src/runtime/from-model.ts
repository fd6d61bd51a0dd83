import type { SegmentationModel } from '@semseg/core';
import { exportOnnx } from '../export.js';
import { ExportedGraphs, OnnxSegmentationModel, type OrtRuntime } from './network.js';

export interface ModelOnRuntimeOptions {
  /** Sessions kept, one per size class (a fixed-size graph: per input size; default 2). */
  cacheSize?: number;
  /** What errors call the model (a checkpoint path). */
  source?: string;
  /**
   * `exportOnnx`'s dynamicSize (default 'auto'): a dynamic graph costs two more traces at export
   * (about 3x the export time at batch 1) and then serves a whole size class; sliding windows,
   * which have one size, are cheaper with false.
   */
  dynamicSize?: boolean | 'auto';
}

/**
 * A model in memory with its network on `runtime` (onnxruntime-node or -web), exported
 * (`exportOnnx`) at batch 1 (windows run one after another; the runtime's threads split each
 * operator) with a dynamic size where the architecture allows it: one session then serves every
 * size of the first one's residue class (modulo the total stride), and a new export is made only
 * for a size no kept graph serves. The tfjs model is only read at export, not disposed.
 */
export function onnxModelOn(
  runtime: OrtRuntime,
  model: SegmentationModel,
  options: ModelOnRuntimeOptions = {},
): OnnxSegmentationModel {
  const graphs = new ExportedGraphs(
    runtime,
    (height, width) =>
      exportOnnx(model, { height, width, batch: 1, dynamicSize: options.dynamicSize ?? 'auto' }),
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
