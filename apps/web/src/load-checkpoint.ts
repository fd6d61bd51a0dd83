// From a checkpoint's bytes to a model on the active backend, with every way it can fail said
// plainly: not a semseg checkpoint, an architecture this page does not have, weights that do not
// match, or a model too large for the device.
import {
  CheckpointError,
  type CheckpointMeta,
  type SegmentationModel,
  decodeCheckpoint,
  parseCheckpointJson,
} from '@semseg/core';
import { modelFromCheckpoint } from '@semseg/engine';
import type { CheckpointFiles } from './checkpoint-source.js';
import { type DeviceBudget, checkpointTooLarge } from './device-budget.js';
import { listModels } from './models.js';

export interface LoadedModel {
  model: SegmentationModel;
  meta: CheckpointMeta;
  source: string;
  weightBytes: number;
}

/** Checks the metadata, the architecture and the size; throws CheckpointError naming the problem. */
export function checkCheckpoint(files: CheckpointFiles, budget: DeviceBudget): void {
  const json = parseCheckpointJson(files.modelJsonText, files.source);
  const name = json.architecture.name;
  const known = listModels().map((m) => m.name);
  if (!known.includes(name)) {
    throw new CheckpointError(
      files.source,
      `holds a '${name}' model, which this page does not have (it has: ${known.join(', ')})`,
    );
  }
  const tooLarge = checkpointTooLarge(json, budget);
  if (tooLarge) throw new CheckpointError(files.source, tooLarge);
}

/** Builds the checkpoint's model on the active tfjs backend, in eval mode. */
export function loadCheckpointModel(files: CheckpointFiles, budget: DeviceBudget): LoadedModel {
  checkCheckpoint(files, budget);
  const decoded = decodeCheckpoint(files.modelJsonText, files.weights, {
    modelJson: files.source,
    weights: `weights of ${files.source}`,
  });
  const { model, meta } = modelFromCheckpoint(decoded, files.source);
  model.eval();
  return { model, meta, source: files.source, weightBytes: files.weights.byteLength };
}
