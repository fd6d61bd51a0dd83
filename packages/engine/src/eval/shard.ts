import { ConfigError } from '@semseg/core';
import type { ShardSpec } from '@semseg/voc-data';

/**
 * Environment variables batch schedulers set to a task's index, in the order they are looked at.
 * SLURM_ARRAY_TASK_ID counts from the array's first id, so SLURM_ARRAY_TASK_MIN is subtracted
 * (`--array=1-8` gives shards 0..7).
 */
export const SHARD_INDEX_VARIABLES = [
  'SEMSEG_SHARD_INDEX',
  'JOB_COMPLETION_INDEX', // Kubernetes Indexed Job
  'SLURM_ARRAY_TASK_ID', // Slurm job array
] as const;

/** Variables that give the shard count when the text does not (`auto`). */
export const SHARD_COUNT_VARIABLES = ['SEMSEG_SHARD_COUNT', 'SLURM_ARRAY_TASK_COUNT'] as const;

/** A process environment (`process.env` in Node); passed in, so this runs anywhere. */
export type ShardEnvironment = Readonly<Record<string, string | undefined>>;

function indexFromEnvironment(env: ShardEnvironment): { index: number; source: string } {
  for (const name of SHARD_INDEX_VARIABLES) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}='${raw}' is not a shard index`);
    let index = Number(raw);
    if (
      name === 'SLURM_ARRAY_TASK_ID' &&
      env.SLURM_ARRAY_TASK_MIN &&
      /^\d+$/.test(env.SLURM_ARRAY_TASK_MIN)
    ) {
      index -= Number(env.SLURM_ARRAY_TASK_MIN);
    }
    return { index, source: name };
  }
  throw new ConfigError(
    `shard 'auto' needs the shard index in the environment (${SHARD_INDEX_VARIABLES.join(', ')}); none is set`,
  );
}

function countFromEnvironment(env: ShardEnvironment): number {
  const raw = env.SEMSEG_SHARD_COUNT ?? env.SLURM_ARRAY_TASK_COUNT;
  if (!raw || !/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new ConfigError(
      `shard 'auto' without a count needs ${SHARD_COUNT_VARIABLES.join(' or ')}; or write auto/<count>`,
    );
  }
  return Number(raw);
}

/**
 * A shard from `i/n` (0-based i), `auto/n` (i from the environment: SEMSEG_SHARD_INDEX,
 * JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID) or `auto` (n from SEMSEG_SHARD_COUNT or
 * SLURM_ARRAY_TASK_COUNT too). Throws a ConfigError that says what is wrong.
 */
export function parseShard(text: string, env: ShardEnvironment): ShardSpec {
  const match = /^\s*(auto|\d+)\s*(?:\/\s*(\d+)\s*)?$/.exec(text);
  if (!match || (match[1] !== 'auto' && match[2] === undefined)) {
    throw new ConfigError(`expected i/n (such as 0/4), auto/n or auto, got '${text}'`);
  }
  const count = match[2] !== undefined ? Number(match[2]) : countFromEnvironment(env);
  if (count < 1) throw new ConfigError(`the shard count must be >= 1, got ${count}`);
  const fromEnv = match[1] === 'auto' ? indexFromEnvironment(env) : undefined;
  const index = fromEnv ? fromEnv.index : Number(match[1]);
  if (index < 0 || index >= count) {
    const where = fromEnv ? ` (from ${fromEnv.source})` : '';
    throw new ConfigError(`shard index ${index}${where} is outside 0..${count - 1}`);
  }
  return { index, count };
}
