import type { StateDict } from '@semseg/core';
import { ConfigError } from '@semseg/core';
import type { FCN } from './fcn.js';

export interface StageInitReport {
  /** Parameters copied from the coarser model. */
  loaded: string[];
  /** Parameters new in this model, left as initialised (new score layers at zero, upsampling bilinear). */
  kept: string[];
}

/**
 * The paper's staged training: initialise FCN-16s from a trained FCN-32s, and FCN-8s from a trained
 * FCN-16s, by matching parameter names (the backbone and the score layers the two share). Shapes
 * of shared names must agree; the coarse model's own upsampler is ignored.
 */
export function initFromCoarser(
  model: FCN,
  coarse: StateDict,
  source = 'the coarser model',
): StageInitReport {
  if (!('score_fr.weight' in coarse) || !('backbone.conv1_1.weight' in coarse)) {
    throw new ConfigError(`${source} is not an FCN state (no backbone.conv1_1.weight / score_fr.weight)`);
  }
  const { missing } = model.loadStateDict(coarse, { strict: false, source });
  const own = Object.keys(model.stateDict());
  return { loaded: own.filter((n) => !missing.includes(n)), kept: missing };
}
