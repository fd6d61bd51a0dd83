import {
  type CheckpointMeta,
  type DecodedCheckpoint,
  type ModelContext,
  Rng,
  type SegmentationModel,
  applyCheckpoint,
  createModel,
} from '@semseg/core';

/**
 * Builds the model a checkpoint describes (its `architecture` from the registry; import the model
 * package, e.g. @semseg/fcn, first) and loads its weights. The decoded tensors are disposed.
 */
export function modelFromCheckpoint(
  checkpoint: DecodedCheckpoint,
  source = 'checkpoint',
  context: ModelContext = { rng: new Rng(0) },
): { model: SegmentationModel; meta: CheckpointMeta } {
  const { name, config } = checkpoint.meta.architecture;
  const model = createModel(name, config, context);
  try {
    applyCheckpoint(model, checkpoint, { source });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta: checkpoint.meta };
}
