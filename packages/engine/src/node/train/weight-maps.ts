import { ConfigError, IGNORE_INDEX, type ModelDefinition } from '@semseg/core';
import type { Batch } from '@semseg/voc-data/node';

/** Per-pixel loss weights for a batch: `batch` needs `instances` (the pipeline's `instances: true`). */
export type BatchPixelWeights = (batch: Batch) => Float32Array;

/** The model definition's weight map; a model without one is a ConfigError. */
export function pixelWeightMapOf(
  definition: ModelDefinition,
): NonNullable<ModelDefinition['pixelWeightMap']> {
  if (!definition.pixelWeightMap)
    throw new ConfigError(
      `--weight-map: model ${definition.name} has no per-pixel weight map (U-Net has the paper's)`,
    );
  return definition.pixelWeightMap;
}

/**
 * The model definition's weight map (U-Net's eq. 2) on each crop of a batch, laid out as its
 * labels (the map reads the parameters it knows: U-Net its w0 and sigma).
 */
export function batchPixelWeights(
  definition: ModelDefinition,
  numClasses: number,
  options: Readonly<Record<string, number>>,
): BatchPixelWeights {
  const map = pixelWeightMapOf(definition);
  return (batch) => {
    if (!batch.instances)
      throw new Error('weight maps need batches with instances (pipeline instances: true)');
    const pixels = batch.height * batch.width;
    const out = new Float32Array(batch.batchSize * pixels);
    for (let k = 0; k < batch.batchSize; k++) {
      const weights = map(
        {
          width: batch.width,
          height: batch.height,
          labels: batch.labels.subarray(k * pixels, (k + 1) * pixels),
          instances: batch.instances.subarray(k * pixels, (k + 1) * pixels),
          numClasses,
          ignoreIndex: IGNORE_INDEX,
        },
        options,
      );
      if (weights.length !== pixels)
        throw new Error(`${definition.name}'s weight map gave ${weights.length} values for ${pixels} pixels`);
      out.set(weights, k * pixels);
    }
    return out;
  };
}
