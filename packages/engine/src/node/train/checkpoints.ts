import { copyFile, link, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError, MODEL_JSON, WEIGHTS_BIN } from '@semseg/core';
import { type SaveStage, readCheckpointMeta, recoverCheckpoint } from '@semseg/core/node';
import type { TrainSettings } from '../../train/settings.js';
import type { RunFiles } from './run-files.js';

/** The metric `--save-best` follows (all higher is better), as train.jsonl names them. */
export type BestMetric = NonNullable<TrainSettings['saveBest']>;

/** The best evaluation so far, as the `best` checkpoint records it in its training state. */
export interface BestRecord {
  metric: BestMetric;
  value: number;
  step: number;
}

export const BEST = 'best';
const STEP_PREFIX = 'step-';

/** `step-00000120`: zero-padded so that names sort by step. */
export function stepCheckpointName(step: number): string {
  return `${STEP_PREFIX}${String(step).padStart(8, '0')}`;
}

/**
 * Puts back what a run killed in the middle of a checkpoint write left in its folder (see core's
 * `recoverCheckpoint`) for `latest`, `best` and the kept step checkpoints. Returns whether
 * `latest` holds a checkpoint.
 */
export async function recoverRunCheckpoints(files: RunFiles): Promise<boolean> {
  await recoverCheckpoint(join(files.out, BEST));
  const entries = await readdir(files.out).catch(() => [] as string[]);
  const stepNames = new Set(
    entries
      .map((e) => /^\.?(step-\d{8})(?:\.(?:tmp|old)-.*)?$/.exec(e)?.[1])
      .filter((e): e is string => e !== undefined),
  );
  for (const name of stepNames) await recoverCheckpoint(join(files.out, name));
  return recoverCheckpoint(files.latest);
}

/** The best record of a run's `best` checkpoint, or null when there is none. */
export async function readBestRecord(files: RunFiles, metric: BestMetric): Promise<BestRecord | null> {
  const dir = join(files.out, BEST);
  const json = await readCheckpointMeta(dir).catch(() => null);
  const best = (json?.training as { best?: BestRecord } | null | undefined)?.best;
  if (!best) return null;
  if (best.metric !== metric)
    throw new ConfigError(
      `${dir}: holds the best ${best.metric}, but this run keeps the best ${metric} (--save-best)`,
    );
  return best;
}

/**
 * Copies a finished checkpoint folder to `target` atomically, by hard links where the file
 * system allows (a saved checkpoint's files are never rewritten: each save writes new files).
 */
export async function copyCheckpoint(source: string, target: string): Promise<void> {
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const file of [WEIGHTS_BIN, MODEL_JSON]) {
    await link(join(source, file), join(tmp, file)).catch(() =>
      copyFile(join(source, file), join(tmp, file)),
    );
  }
  // A step folder is only rewritten when a resumed run redoes that step: same content.
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
}

/** Removes step checkpoints beyond the `keep` newest. */
export async function pruneStepCheckpoints(files: RunFiles, keep: number): Promise<void> {
  const steps = (await readdir(files.out))
    .filter((e) => /^step-\d{8}$/.test(e))
    .sort()
    .reverse();
  for (const old of steps.slice(keep)) await rm(join(files.out, old), { recursive: true, force: true });
}

/**
 * For fault-injection tests only: with `SEMSEG_TEST_PAUSE_IN_CHECKPOINT=<stage>@<step>` (stage
 * `weights-written` or `swapping`), the save of `latest` at that step prints
 * `SEMSEG_TEST_PAUSED <stage> <step>` on stderr and waits, so that a test can kill the process
 * at that exact point. Unset, nothing changes.
 */
export function testPauseHook(step: number): ((stage: SaveStage) => Promise<void>) | undefined {
  const spec = process.env.SEMSEG_TEST_PAUSE_IN_CHECKPOINT;
  if (!spec) return undefined;
  const [stage, at] = spec.split('@');
  if (Number(at) !== step) return undefined;
  return async (reached) => {
    if (reached !== stage) return;
    process.stderr.write(`SEMSEG_TEST_PAUSED ${reached} ${step}\n`);
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  };
}
