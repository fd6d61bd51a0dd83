// Lattice against the exact oracle on small synthetic images, for every normalisation that does not
// depend on the lattice's global scale and for all three compatibility forms.
import { describe, expect, it } from 'vitest';
import { type Compatibility, DenseCRF2D, type Normalization } from '../src/index.js';
import { labelAgreement, meanAbsDiff } from './fixture.js';
import { syntheticScene } from './scene.js';

const scene = syntheticScene(40, 30, 4, 7);

function run(method: 'lattice' | 'exact', normalization: Normalization, bilateralCompat: Compatibility) {
  const crf = new DenseCRF2D(scene.width, scene.height, scene.labels, { method });
  crf.setUnaryEnergy(scene.unary);
  crf.addPairwiseGaussian({ sxy: 3, compat: 3, normalization });
  crf.addPairwiseBilateral({
    sxy: [30, 25],
    srgb: [10, 12, 14],
    rgb: scene.rgb,
    compat: bilateralCompat,
    normalization,
  });
  const q = crf.inference(5);
  return { q, labels: crf.map(q) };
}

const potts = 5;
const offDiagonal = Array.from({ length: 16 }, (_, i) => (Math.floor(i / 4) === i % 4 ? 0 : potts));

describe('lattice vs exact on a 40 x 30 scene with 4 labels', () => {
  it.each(['symmetric', 'before', 'after'] as const)('normalisation %s', (normalization) => {
    const lattice = run('lattice', normalization, potts);
    const exact = run('exact', normalization, potts);
    expect(labelAgreement(lattice.labels, exact.labels)).toBeGreaterThanOrEqual(0.99);
    expect(meanAbsDiff(lattice.q, exact.q)).toBeLessThan(0.01);
    // And the CRF did something: the labels moved away from the unary's argmax towards the scene.
    expect(labelAgreement(lattice.labels, scene.truth)).toBeGreaterThan(
      labelAgreement(scene.unaryArgmax, scene.truth),
    );
  });

  it('matrix and diagonal compatibilities equal the Potts model they encode', () => {
    const pottsQ = run('lattice', 'symmetric', potts).q;
    const matrixQ = run('lattice', 'symmetric', { matrix: offDiagonal }).q;
    const diagonalQ = run('lattice', 'symmetric', { diagonal: [-potts, -potts, -potts, -potts] }).q;
    expect(meanAbsDiff(matrixQ, pottsQ)).toBeLessThan(1e-6);
    expect(meanAbsDiff(diagonalQ, pottsQ)).toBeLessThan(1e-6);
  });

  it('a non-Potts matrix agrees between lattice and exact', () => {
    const matrix = offDiagonal.map((w, i) => (i === 1 || i === 4 ? 1 : w));
    const lattice = run('lattice', 'symmetric', { matrix });
    const exact = run('exact', 'symmetric', { matrix });
    expect(labelAgreement(lattice.labels, exact.labels)).toBeGreaterThanOrEqual(0.99);
    expect(meanAbsDiff(lattice.q, exact.q)).toBeLessThan(0.01);
  });
});
