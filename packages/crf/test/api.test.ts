import { describe, expect, it } from 'vitest';
import {
  DenseCRF,
  DenseCRF2D,
  argmaxLabels,
  createDenseCrf,
  presets,
  rgbaToRgb,
  runDenseCrf,
  unaryFromLabels,
  unaryFromProbabilities,
} from '../src/index.js';
import { maxAbsDiff } from './fixture.js';
import { syntheticScene } from './scene.js';

const scene = syntheticScene(24, 16, 3, 11);

function crfOf(iterationsScene = scene) {
  const crf = new DenseCRF2D(iterationsScene.width, iterationsScene.height, iterationsScene.labels);
  crf.setUnaryEnergy(iterationsScene.unary);
  crf.addPairwiseGaussian({ sxy: 3, compat: 3 });
  crf.addPairwiseBilateral({ sxy: 20, srgb: 13, rgb: iterationsScene.rgb, compat: 10 });
  return crf;
}

describe('inference API', () => {
  it('zero iterations give softmax(-U)', () => {
    const q = crfOf().inference(0);
    const u = scene.unary;
    for (let i = 0; i < 3; i++) {
      const e = [0, 1, 2].map((k) => Math.exp(-u[i * 3 + k]));
      const sum = e[0] + e[1] + e[2];
      for (let k = 0; k < 3; k++) expect(q[i * 3 + k]).toBeCloseTo(e[k] / sum, 6);
    }
  });

  it('stepwise inference reproduces inference(n) and counts iterations', () => {
    const crf = crfOf();
    const state = crf.startInference();
    for (let it = 0; it < 4; it++) crf.stepInference(state);
    expect(state.iteration).toBe(4);
    expect(maxAbsDiff(state.q, crf.inference(4))).toBe(0);
  });

  it('klDivergence of a CRF without pairwise terms is sum Q log Q + U Q', () => {
    const crf = new DenseCRF(4, 2);
    const unary = new Float32Array([0.1, 2, 1, 1, 3, 0.5, 0.2, 0.3]);
    crf.setUnaryEnergy(unary);
    const q = new Float32Array([0.9, 0.1, 0.5, 0.5, 0.2, 0.8, 0.6, 0.4]);
    let expected = 0;
    for (let i = 0; i < 8; i++) expected += q[i] * Math.log(q[i]) + unary[i] * q[i];
    expect(crf.klDivergence(q)).toBeCloseTo(expected, 5);
  });

  it('klDivergence with a Potts term adds -w sum Q * filtered(Q) (hand-computed on 2 points)', () => {
    // Two points one unit apart on a line: K = [[1, e^-0.5], [e^-0.5, 1]], symmetric normalisation.
    const crf = new DenseCRF(2, 2, { method: 'exact' });
    crf.setUnaryEnergy(new Float32Array([0, 0, 0, 0]));
    crf.addPairwiseEnergy(new Float32Array([0, 1]), 1, { compat: 2 });
    const q = new Float32Array([0.7, 0.3, 0.2, 0.8]);
    const k = Math.exp(-0.5);
    const norm = 1 / Math.sqrt(1 + k); // both rows of K sum to 1 + k
    let pairwise = 0;
    for (let l = 0; l < 2; l++) {
      const f0 = norm * (norm * q[l] + k * norm * q[2 + l]);
      const f1 = norm * (k * norm * q[l] + norm * q[2 + l]);
      pairwise += -2 * (q[l] * f0 + q[2 + l] * f1);
    }
    let entropy = 0;
    for (const v of q) entropy += v * Math.log(v);
    expect(crf.klDivergence(q)).toBeCloseTo(entropy + pairwise, 5);
  });

  it('mean field lowers the KL divergence from the unary-only start on the scene', () => {
    const crf = crfOf();
    const state = crf.startInference();
    const before = crf.klDivergence(state.q);
    for (let it = 0; it < 5; it++) crf.stepInference(state);
    expect(crf.klDivergence(state.q)).toBeLessThan(before);
  });

  it('map picks the first label on ties', () => {
    const q = new Float32Array([0.2, 0.5, 0.3, 0.4, 0.4, 0.2, 0.1, 0.1, 0.8]);
    expect([...argmaxLabels(q, 3)]).toEqual([1, 0, 2]);
    const crf = new DenseCRF(3, 3);
    expect([...crf.map(q)]).toEqual([1, 0, 2]);
  });

  it('runDenseCrf and createDenseCrf follow a preset', () => {
    const input = { width: scene.width, height: scene.height, labels: 3, unary: scene.unary, rgb: scene.rgb };
    const { q, labels } = runDenseCrf(input, 'deconvNet');
    const crf = new DenseCRF2D(scene.width, scene.height, 3);
    crf.setUnaryEnergy(scene.unary);
    crf.addPairwiseGaussian({ sxy: 3, compat: 3 });
    crf.addPairwiseBilateral({ sxy: 20, srgb: 3, rgb: scene.rgb, compat: 5 });
    const expected = crf.inference(10);
    expect(maxAbsDiff(q, expected)).toBe(0);
    expect([...labels]).toEqual([...crf.map(expected)]);
    expect(createDenseCrf(input, presets.deeplabV1).inference(0)).toEqual(crf.inference(0));
  });

  it('presets carry the papers settings', () => {
    expect(presets.deeplabV1).toEqual({
      gaussian: { sxy: 3, compat: 3 },
      bilateral: { sxy: 121, srgb: 5, compat: 4 },
      iterations: 10,
    });
    expect(presets.deconvNet.bilateral).toEqual({ sxy: 20, srgb: 3, compat: 5 });
    expect(presets.pydensecrfExample).toEqual({
      gaussian: { sxy: 3, compat: 3 },
      bilateral: { sxy: 80, srgb: 13, compat: 10 },
      iterations: 5,
    });
  });

  it('per-axis widths equal scalar widths when equal', () => {
    const a = crfOf().inference(2);
    const crf = new DenseCRF2D(scene.width, scene.height, 3);
    crf.setUnaryEnergy(scene.unary);
    crf.addPairwiseGaussian({ sxy: [3, 3], compat: 3 });
    crf.addPairwiseBilateral({ sxy: [20, 20], srgb: [13, 13, 13], rgb: scene.rgb, compat: 10 });
    expect(maxAbsDiff(a, crf.inference(2))).toBe(0);
  });
});

describe('unary helpers', () => {
  it('unaryFromProbabilities: -log with clipping and scale, as pydensecrf', () => {
    const p = new Float32Array([0.5, 0.5, 0, 1]);
    const u = unaryFromProbabilities(p, 2);
    expect(u[0]).toBeCloseTo(Math.log(2), 6);
    expect(u[2]).toBeCloseTo(-Math.log(1e-5), 4);
    expect(u[3]).toBeCloseTo(0, 9);
    const scaled = unaryFromProbabilities(p, 2, { scale: 0.8, clip: 1e-3 });
    expect(scaled[2]).toBeCloseTo(-Math.log(0.1), 6);
    expect(scaled[3]).toBeCloseTo(-Math.log(0.9), 6);
  });

  it('unaryFromLabels: gtProb on the label, the rest shared, 255 unsure', () => {
    const u = unaryFromLabels(new Uint8Array([2, 255]), 3, { gtProb: 0.6 });
    expect(u[2]).toBeCloseTo(-Math.log(0.6), 6);
    expect(u[0]).toBeCloseTo(-Math.log(0.2), 6);
    expect(u[3]).toBeCloseTo(Math.log(3), 6);
    expect(u[5]).toBeCloseTo(Math.log(3), 6);
  });

  it('unaryFromLabels with zeroUnsure follows pydensecrf (0 unsure, v is label v - 1)', () => {
    const u = unaryFromLabels(new Uint8Array([0, 1]), 2, { zeroUnsure: true, gtProb: 0.7 });
    expect(u[0]).toBeCloseTo(Math.log(2), 6);
    expect(u[2]).toBeCloseTo(-Math.log(0.7), 6);
    expect(u[3]).toBeCloseTo(-Math.log(0.3), 6);
  });
});

describe('rgbaToRgb', () => {
  it('drops alpha, so ImageData feeds the bilateral kernel', () => {
    const rgba = new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 0]);
    expect([...rgbaToRgb(rgba)]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
