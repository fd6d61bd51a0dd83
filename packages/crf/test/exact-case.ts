// The O(N^2) exact mean field: checked against the reference's own exact float64 run, then used as
// the oracle for the lattice.
import { describe, expect, it } from 'vitest';
import { DenseCRF2D } from '../src/index.js';
import { type ParamSet, labelAgreement, loadCase, loadResult, meanAbsDiff } from './fixture.js';

const scene = loadCase();

function run(set: ParamSet, method: 'lattice' | 'exact') {
  const { params } = loadResult(set);
  const crf = new DenseCRF2D(scene.width, scene.height, scene.labels, { method });
  crf.setUnaryEnergy(scene.unary);
  crf.addPairwiseGaussian({ sxy: params.gaussian.sxy, compat: params.gaussian.compat });
  crf.addPairwiseBilateral({
    sxy: params.bilateral.sxy,
    srgb: params.bilateral.srgb,
    rgb: scene.rgb,
    compat: params.bilateral.compat,
  });
  const q = crf.inference(params.iterations);
  return { q, labels: crf.map(q) };
}

export function describeExactCase(set: ParamSet): void {
  describe(`exact mean field on case b, ${set}`, () => {
    const reference = loadResult(set);
    const exact = run(set, 'exact');
    const lattice = run(set, 'lattice');

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
