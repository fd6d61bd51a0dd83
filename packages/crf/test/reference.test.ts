// The lattice CRF against the reference C++ implementation's output on the same inputs.
import { describe, expect, it } from 'vitest';
import {
  type ParamSet,
  labelAgreement,
  loadCase,
  loadResult,
  maxAbsDiff,
  meanAbsDiff,
  runCase,
} from './fixture.js';

const scene = loadCase();

describe.each([
  ['P1', 'wasm'],
  ['P2', 'wasm'],
  ['P1', 'js'],
  ['P2', 'js'],
] as const)('reference case b, %s, engine %s', (set, engine) => {
  const reference = loadResult(set);
  const ours = runCase(set, { engine });

  it('agrees with the reference MAP labels on >= 99.5% of pixels (measured: all)', () => {
    const agreement = labelAgreement(ours.labels, reference.labels);
    expect(agreement).toBeGreaterThanOrEqual(0.995);
    // Our lattice is the reference's lattice: in practice every pixel agrees.
    expect(agreement).toBe(1);
  });

  it('matches the reference Q to float32 rounding (mean |dQ| < 1e-6)', () => {
    expect(meanAbsDiff(ours.q, reference.q)).toBeLessThan(1e-6);
    expect(maxAbsDiff(ours.q, reference.q)).toBeLessThan(1e-4);
  });

  it('returns marginals: every pixel sums to 1', () => {
    for (let i = 0; i < ours.q.length; i += scene.labels) {
      const sum = ours.q[i] + ours.q[i + 1] + ours.q[i + 2];
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
  });

  it.runIf(engine === 'js')('gives the same result with plain (non-generated) loops', () => {
    const plain = runCase(set, { plainLoops: true });
    expect(maxAbsDiff(plain.q, ours.q)).toBeLessThan(1e-6);
    expect(labelAgreement(plain.labels, ours.labels)).toBe(1);
  });
});
