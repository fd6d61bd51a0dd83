import { ConfigError } from '@semseg/core';
import { describe, expect, it } from 'vitest';
import { parseShard } from '../src/index.js';

describe('parseShard', () => {
  it('takes i/n', () => {
    expect(parseShard('2/8', {})).toEqual({ index: 2, count: 8 });
    expect(() => parseShard('8/8', {})).toThrow(/shard index 8 is outside 0..7/);
    expect(() => parseShard('1', {})).toThrow(/expected i\/n/);
    expect(() => parseShard('a/b', {})).toThrow(/expected i\/n/);
    expect(() => parseShard('0/0', {})).toThrow(/the shard count must be >= 1/);
    expect(() => parseShard('a/b', {})).toThrow(ConfigError);
  });

  it('reads the index from a Kubernetes Indexed Job or a Slurm array with auto/n', () => {
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '2' })).toEqual({ index: 2, count: 4 });
    // --array=1-4: ids 1..4 are shards 0..3.
    expect(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' })).toEqual({
      index: 3,
      count: 4,
    });
    expect(parseShard('auto/4', { SEMSEG_SHARD_INDEX: '1', JOB_COMPLETION_INDEX: '3' })).toEqual({
      index: 1,
      count: 4,
    });
    expect(() => parseShard('auto/4', {})).toThrow(/needs the shard index in the environment/);
    expect(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: '4' })).toThrow(
      /shard index 4 \(from JOB_COMPLETION_INDEX\) is outside 0..3/,
    );
    expect(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: 'x' })).toThrow(/is not a shard index/);
  });

  it('reads the count too with plain auto', () => {
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '6' })).toEqual({
      index: 5,
      count: 6,
    });
    expect(parseShard('auto', { SEMSEG_SHARD_INDEX: '0', SEMSEG_SHARD_COUNT: '2' })).toEqual({
      index: 0,
      count: 2,
    });
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '0' })).toThrow(
      /SEMSEG_SHARD_COUNT or SLURM_ARRAY_TASK_COUNT/,
    );
  });
});
