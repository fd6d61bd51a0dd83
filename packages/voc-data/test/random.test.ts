import { describe, expect, it } from 'vitest';
import { SeededRandom, randomInt } from '../src/index.js';

describe('SeededRandom', () => {
  it('is deterministic under a seed and differs across seeds', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it('saves and restores its state exactly', () => {
    const random = new SeededRandom('state');
    for (let i = 0; i < 7; i++) random.next();
    const state = structuredClone(random.getState());
    const ahead = Array.from({ length: 10 }, () => random.nextUint32());
    const restored = SeededRandom.fromState(state);
    expect(Array.from({ length: 10 }, () => restored.nextUint32())).toEqual(ahead);
    expect(() => restored.setState({ algorithm: 'sfc32', s: [1, 2, 3, -1] })).toThrow(TypeError);
  });

  it('gives independent per-sample streams', () => {
    const first = SeededRandom.forSample(1, 0, 0).next();
    expect(SeededRandom.forSample(1, 0, 0).next()).toBe(first);
    expect(SeededRandom.forSample(1, 0, 1).next()).not.toBe(first);
    expect(SeededRandom.forSample(1, 1, 0).next()).not.toBe(first);
    expect(SeededRandom.forSample(2, 0, 0).next()).not.toBe(first);
  });

  it('draws integers roughly uniformly', () => {
    const random = new SeededRandom(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[randomInt(random, 6)]++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });
});
