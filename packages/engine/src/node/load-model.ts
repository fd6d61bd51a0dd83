import type { CheckpointMeta, SegmentationModel } from '@semseg/core';
import { loadCheckpoint } from '@semseg/core/node';
import { modelFromCheckpoint } from '../model.js';

/** Reads a checkpoint folder and builds its model (import the model's package first). */
export async function loadModel(
  path: string,
): Promise<{ model: SegmentationModel; meta: CheckpointMeta; modelJson: string }> {
  const checkpoint = await loadCheckpoint(path);
  const { model, meta } = modelFromCheckpoint(checkpoint, checkpoint.files.modelJson);
  return { model, meta, modelJson: checkpoint.files.modelJson };
}
