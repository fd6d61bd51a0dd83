// The O(N^2) exact mean field: checked against the reference's own exact float64 run, then used as
// the oracle for the lattice.
import { describe, expect, it } from 'vitest';
import { type ParamSet, labelAgreement, loadResult, meanAbsDiff, runCase } from './fixture.js';

export function describeExactCase(set: ParamSet): void {
  describe(`exact mean field on case b, ${set}`, () => {
    const reference = loadResult(set);
    const exact = runCase(set, { method: 'exact' });
    const lattice = runCase(set, { method: 'lattice' });

    it("equals the reference's exact float64 mean field", () => {
      expect(labelAgreement(exact.labels, reference.labelsExact)).toBe(1);
      expect(meanAbsDiff(exact.q, reference.qExact)).toBeLessThan(1e-7);
    });

    it('agrees with the lattice to the degree the reference lattice does', () => {
      const { label_agreement, mean_abs_q_diff } = reference.params.exact_vs_permutohedral;
      const agreement = labelAgreement(lattice.labels, exact.labels);
      expect(agreement).toBeGreaterThanOrEqual(0.995);
      expect(agreement).toBeGreaterThanOrEqual(label_agreement - 1e-9);
      expect(meanAbsDiff(lattice.q, exact.q)).toBeLessThan(mean_abs_q_diff * 1.05);
    });
  });
}
