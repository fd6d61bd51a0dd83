import { Rng } from '@semseg/core';
import { syntheticScenes } from '@semseg/tooling/synthetic';

/** Small synthetic scenes (3 classes) from a seed: the shared generator in @semseg/tooling. */
export function syntheticBatch(
  count: number,
  size: number,
  seed: number,
): { images: Float32Array; labels: Uint8Array } {
  return syntheticScenes(count, size, new Rng(seed));
}
