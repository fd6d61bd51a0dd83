import { describe, expect, it } from 'vitest';
import { EpochPlan, SeededRandom, epochOrder, randomInt, shardItems } from '../src/index.js';

describe('shardItems', () => {
  it('partitions any list: every item once, order kept, sizes within one', () => {
    const random = new SeededRandom(11);
    for (let trial = 0; trial < 200; trial++) {
      const length = randomInt(random, 60);
      const count = 1 + randomInt(random, 9);
      const items = Array.from({ length }, (_, i) => `id${i}`);
      const shards = Array.from({ length: count }, (_, index) => shardItems(items, { index, count }));
      expect(shards.flat().sort()).toEqual([...items].sort());
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      for (const shard of shards) {
        const positions = shard.map((id) => items.indexOf(id));
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
      }
    }
  });

  it('is deterministic and rejects bad specs', () => {
    const items = ['a', 'b', 'c', 'd', 'e'];
    expect(shardItems(items, { index: 1, count: 2 })).toEqual(['b', 'd']);
    expect(() => shardItems(items, { index: 2, count: 2 })).toThrow(RangeError);
    expect(() => shardItems(items, { index: 0, count: 0 })).toThrow(RangeError);
  });
});

describe('epochOrder', () => {
  it('is a seeded permutation that changes per epoch', () => {
    const a = epochOrder(50, 0, { seed: 1, shuffle: true });
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochOrder(50, 0, { seed: 1, shuffle: true })).toEqual(a);
    expect(epochOrder(50, 1, { seed: 1, shuffle: true })).not.toEqual(a);
    expect(epochOrder(50, 0, { seed: 2, shuffle: true })).not.toEqual(a);
    expect([...epochOrder(4, 3, { seed: 1, shuffle: false })]).toEqual([0, 1, 2, 3]);
  });
});

describe('EpochPlan', () => {
  const make = (start?: { epoch: number; index: number }, dropLast = true) =>
    new EpochPlan({ length: 10, batchSize: 3, seed: 'plan', shuffle: true, dropLast, epochs: 3, start });

  it('walks epochs in batches, dropping or keeping the last partial batch', () => {
    const plan = make();
    const batches = [];
    for (let b = plan.nextBatch(); b; b = plan.nextBatch()) batches.push(b);
    expect(batches).toHaveLength(9); // 3 full batches per epoch
    expect(batches.map((b) => b[0].epoch)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const keep = make(undefined, false);
    const sizes = [];
    for (let b = keep.nextBatch(); b; b = keep.nextBatch()) sizes.push(b.length);
    expect(sizes).toEqual([3, 3, 3, 1, 3, 3, 3, 1, 3, 3, 3, 1]);
  });

  it('resumes from a saved position with the same remaining batches', () => {
    const full = make();
    const all = [];
    for (let b = full.nextBatch(); b; b = full.nextBatch()) all.push(b);
    const first = make();
    first.nextBatch();
    first.nextBatch();
    first.nextBatch();
    first.nextBatch();
    const saved = JSON.parse(JSON.stringify(first.position));
    expect(saved).toEqual({ epoch: 1, index: 3 });
    const resumed = make(saved);
    const rest = [];
    for (let b = resumed.nextBatch(); b; b = resumed.nextBatch()) rest.push(b);
    expect(rest).toEqual(all.slice(4));
  });

  it('rejects impossible settings', () => {
    expect(() =>
      new EpochPlan({
        length: 2,
        batchSize: 3,
        seed: 0,
        shuffle: false,
        dropLast: true,
        epochs: 1,
      }).nextBatch(),
    ).toThrow(/no full batch/);
    expect(() => make({ epoch: 0, index: 11 })).toThrow(RangeError);
  });
});
