import { appendFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RngState } from '@semseg/core';
import type { DataPosition } from '@semseg/voc-data';
import type { RecipeEntry } from '../../train/recipe.js';
import type { BestRecord } from './checkpoints.js';
import type { RunRecord } from './options.js';

/** What a training checkpoint stores beyond weights, so that `--resume` continues exactly. */
export interface TrainingState {
  step: number;
  epoch: number;
  position: DataPosition;
  optimizerIterations: number;
  generators: Record<string, RngState>;
  seed: number;
  run: RunRecord;
  /** In the `best` checkpoint only: the evaluation that made it the best. */
  best?: BestRecord;
}

export const LATEST = 'latest';
export const FINAL = 'final';

/** A run folder's files: train.jsonl (appended), run.json (written atomically), checkpoint folders. */
export class RunFiles {
  readonly logFile: string;

  constructor(readonly out: string) {
    this.logFile = join(out, 'train.jsonl');
  }

  get latest(): string {
    return join(this.out, LATEST);
  }

  get final(): string {
    return join(this.out, FINAL);
  }

  log(record: Record<string, unknown>): Promise<void> {
    return appendFile(this.logFile, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  /** Whether run.json exists (a run killed before its first checkpoint has one). */
  hasRunRecord(): Promise<boolean> {
    return stat(join(this.out, 'run.json')).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** run.json: the options `--resume` reads back, and the recipe with each value's origin. */
  async writeRunRecord(run: RunRecord, recipe: readonly RecipeEntry[]): Promise<void> {
    const path = join(this.out, 'run.json');
    const temp = `${path}.tmp-${process.pid}`;
    await writeFile(temp, `${JSON.stringify({ ...run, recipe }, null, 2)}\n`);
    await rename(temp, path);
  }
}
