import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConfigError,
  type DecodedCheckpoint,
  type ModelDefinition,
  Rng,
  type SegmentationModel,
  applyCheckpoint,
  createModel,
  getModelDefinition,
  getTrainPreset,
} from '@semseg/core';
import { loadCheckpoint } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { RunRecord } from './options.js';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** A checkpoint folder, or a run folder (its `final`, else its `latest` checkpoint). */
export async function resolveCheckpointPath(path: string): Promise<string> {
  for (const candidate of [path, join(path, 'final'), join(path, 'latest')])
    if (await isFile(join(candidate, 'model.json'))) return candidate;
  throw new ConfigError(`${path}: neither a checkpoint (model.json) nor a run folder with final/ or latest/`);
}

/**
 * A fresh model for a run: initialised from the seed, then the backbone's ImageNet weights
 * (`pretrained`, through the definition's declared initialisation), then any parameters an earlier
 * run shares by name (`initFrom`, the papers' staged training).
 */
export async function createRunModel(
  run: RunRecord,
  numClasses: number,
  seed: number,
): Promise<{ model: SegmentationModel; definition: ModelDefinition }> {
  const definition = getModelDefinition(run.model);
  const model = createModel(
    run.model,
    { ...run.modelConfig, numClasses },
    { rng: new Rng(seed).derive('init') },
  );
  try {
    if (run.pretrained) {
      if (!definition.pretrained)
        throw new ConfigError(`model '${run.model}' declares no ImageNet initialisation for --pretrained`);
      await definition.pretrained.load(model, run.pretrained);
    }
    if (run.initFrom) {
      const checkpoint = await loadCheckpoint(await resolveCheckpointPath(run.initFrom));
      checkStage(run, checkpoint);
      applyCheckpoint(model, checkpoint, { strict: false, source: checkpoint.files.modelJson });
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, definition };
}

/** A staged preset's start must be a model of the earlier stage's architecture. */
function checkStage(run: RunRecord, checkpoint: DecodedCheckpoint & { files: { modelJson: string } }): void {
  if (!run.initFromPreset) return;
  const expected = getTrainPreset(run.initFromPreset).model;
  const found = checkpoint.meta.architecture.name;
  if (found !== expected) {
    tf.dispose([...Object.values(checkpoint.tensors), ...Object.values(checkpoint.optimizerTensors)]);
    throw new ConfigError(
      `${checkpoint.files.modelJson}: holds a ${found}, but this recipe starts from a trained ${expected} (${run.initFromPreset})`,
    );
  }
}

/** The model of a checkpoint being resumed, with its weights and generator states restored. */
export function restoreRunModel(
  checkpoint: DecodedCheckpoint & { files: { modelJson: string } },
  seed: number,
): { model: SegmentationModel; definition: ModelDefinition } {
  const { name, config } = checkpoint.meta.architecture;
  const definition = getModelDefinition(name);
  const model = createModel(name, config, { rng: new Rng(seed) });
  try {
    applyCheckpoint(model, checkpoint, { source: checkpoint.files.modelJson, keepOptimizer: true });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, definition };
}
