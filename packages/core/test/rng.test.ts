import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';

/** Independent xoshiro128** in BigInt arithmetic, straight from the reference C code. */
function referenceXoshiro(state: [number, number, number, number], count: number): number[] {
  const mask = 0xffffffffn;
  let [s0, s1, s2, s3] = state.map(BigInt) as [bigint, bigint, bigint, bigint];
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & mask;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number((rotl((s1 * 5n) & mask, 7n) * 9n) & mask));
    const t = (s1 << 9n) & mask;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11n);
  }
  return out;
}

describe('Rng', () => {
  it('matches xoshiro128** (hand-computed first value, BigInt reference after)', () => {
    const rng = Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    const ours = Array.from({ length: 200 }, () => rng.nextUint32());
    // First output: rotl(2 * 5, 7) * 9 = 1280 * 9.
    expect(ours[0]).toBe(11520);
    expect(ours).toEqual(referenceXoshiro([1, 2, 3, 4], 200));
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const seqA = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 10 }, () => c.next())).not.toEqual(seqA);
    expect(new Rng('run-1').nextUint32()).toBe(new Rng('run-1').nextUint32());
    expect(new Rng('run-1').nextUint32()).not.toBe(new Rng('run-2').nextUint32());
  });

  it('saves and restores its state exactly', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 13; i++) rng.next();
    const saved = JSON.parse(JSON.stringify(rng.getState()));
    const expected = Array.from({ length: 20 }, () => rng.normal());
    const restored = Rng.fromState(saved);
    expect(Array.from({ length: 20 }, () => restored.normal())).toEqual(expected);
  });

  it('rejects invalid states', () => {
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow(/all-zero/);
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', s: [1.5, 0, 0, 0] })).toThrow(/unsigned/);
  });

  it('split gives independent streams and derive does not advance the parent', () => {
    const parent = new Rng(1);
    const before = parent.getState();
    const d1 = parent.derive('init');
    const d2 = parent.derive('init');
    const d3 = parent.derive('data');
    expect(parent.getState()).toEqual(before);
    expect(d1.nextUint32()).toBe(d2.nextUint32());
    expect(new Rng(1).derive('init').nextUint32()).not.toBe(d3.nextUint32());
    const child = parent.split();
    expect(parent.getState()).not.toEqual(before);
    const xs = Array.from({ length: 1000 }, () => child.next());
    const ys = Array.from({ length: 1000 }, () => parent.next());
    let corr = 0;
    for (let i = 0; i < xs.length; i++) corr += (xs[i]! - 0.5) * (ys[i]! - 0.5);
    expect(Math.abs(corr / xs.length / (1 / 12))).toBeLessThan(0.15);
  });

  it('draws with the right distributions', () => {
    const rng = new Rng(3);
    const n = 20000;
    const normals = rng.fillNormal(new Float32Array(n), 2, 3);
    const mean = normals.reduce((a, b) => a + b, 0) / n;
    const variance = normals.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(mean).toBeCloseTo(2, 1);
    expect(Math.sqrt(variance)).toBeGreaterThan(2.9);
    expect(Math.sqrt(variance)).toBeLessThan(3.1);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[rng.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    const u = Array.from({ length: 1000 }, () => rng.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const filled = rng.fillUniform(new Float32Array(100_000), -2, 3);
    expect(Math.min(...filled)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...filled)).toBeLessThan(3);
    expect(filled.reduce((a, b) => a + b, 0) / filled.length).toBeCloseTo(0.5, 1);
    expect(() => rng.int(0)).toThrow(RangeError);
  });

  it('shuffles into a permutation, reproducibly', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = new Rng(5).shuffle([...items]);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(a).not.toEqual(items);
    expect(new Rng(5).shuffle([...items])).toEqual(a);
  });
});

describe('the fills', () => {
  // The fills run the generator on local copies of its state: the same numbers as drawing each
  // word through nextUint32, and the same state after.
  function referenceNormal(rng: Rng, out: Float32Array, mean: number, std: number): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u = (rng.nextUint32() + 0.5) / 4294967296;
      const v = (rng.nextUint32() + 0.5) / 4294967296;
      const r = std * Math.sqrt(-2 * Math.log(u));
      out[i] = mean + r * Math.cos(2 * Math.PI * v);
      if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  it.each([1, 2, 7, 1000])('fillNormal of %i values draws what nextUint32 draws', (n) => {
    const [a, b] = [new Rng(13), new Rng(13)];
    expect(a.fillNormal(new Float32Array(n), 0.5, 2)).toEqual(
      referenceNormal(b, new Float32Array(n), 0.5, 2),
    );
    expect(a.getState()).toEqual(b.getState());
    expect(a.nextUint32()).toBe(b.nextUint32());
  });

  it.each([1, 5, 1000])('fillUniform of %i values draws what nextUint32 draws', (n) => {
    const [a, b] = [new Rng('uniform'), new Rng('uniform')];
    const expected = Float32Array.from({ length: n }, () => -2 + 5 * ((b.nextUint32() >>> 8) / 16777216));
    expect(a.fillUniform(new Float32Array(n), -2, 3)).toEqual(expected);
    expect(a.getState()).toEqual(b.getState());
  });
});
