// The WebAssembly engine against the TypeScript one: the same lattice bit for bit, and the same mean
// field to float32 rounding, for every label-count shape (padding lanes), compatibility kind and
// normalisation; stepwise inference, memory reuse and the engine option.
import { describe, expect, it } from 'vitest';
import { bilateralFeatures, gaussianFeatures } from '../src/features.js';
import { DenseCRF2D, type DenseCrfOptions, InputError } from '../src/index.js';
import { LatticeFilter, sliceAlpha } from '../src/lattice-filter.js';
import { buildLattice } from '../src/lattice.js';
import { buildLatticeWasm } from '../src/wasm/lattice-builder.js';
import { wasmSimdSupported } from '../src/wasm/runtime.js';
import { labelAgreement, maxAbsDiff, meanAbsDiff } from './fixture.js';
import { type Scene, seededRandom, syntheticScene } from './scene.js';

function noisyImage(width: number, height: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256));
}

/** Index of the first element that differs (or the length when one is longer), -1 if none. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

function crfOf(scene: Scene, options: DenseCrfOptions, terms: 'potts' | 'diagonal' | 'matrix' = 'potts') {
  const crf = new DenseCRF2D(scene.width, scene.height, scene.labels, options);
  crf.setUnaryEnergy(scene.unary);
  const L = scene.labels;
  const gaussianCompat =
    terms === 'potts' ? 3 : { diagonal: Array.from({ length: L }, (_, k) => -1 - (k % 3)) };
  const bilateralCompat =
    terms === 'matrix'
      ? { matrix: Array.from({ length: L * L }, (_, i) => (Math.floor(i / L) === i % L ? 0 : 1 + (i % 4))) }
      : 5;
  crf.addPairwiseGaussian({ sxy: 3, compat: gaussianCompat });
  crf.addPairwiseBilateral({ sxy: 20, srgb: 13, rgb: scene.rgb, compat: bilateralCompat });
  return crf;
}

describe('WebAssembly engine', () => {
  it('is available in this Node', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(new DenseCRF2D(4, 4, 2).engine).toBe('wasm');
    expect(new DenseCRF2D(4, 4, 2, { engine: 'js' }).engine).toBe('js');
    expect(new DenseCRF2D(4, 4, 2, { plainLoops: true }).engine).toBe('js');
    expect(new DenseCRF2D(4, 4, 2, { method: 'exact' }).engine).toBe('js');
  });

  it('builds the TypeScript lattice bit for bit (vertices, offsets, weights, neighbours)', () => {
    const width = 96;
    const height = 72;
    const smooth = syntheticScene(width, height, 3, 11).rgb;
    const noise = noisyImage(width, height, 5);
    const cases = [
      gaussianFeatures(width, height, 3, 3),
      gaussianFeatures(width, height, 0.7, 2.5),
      bilateralFeatures(width, height, 121, 121, [5, 5, 5], smooth),
      bilateralFeatures(width, height, 80, 80, [13, 13, 13], smooth),
      // Pure noise at srgb 1: more vertices than half the points, so the hash table grows mid-way
      // and locate resumes where it stopped.
      bilateralFeatures(width, height, 20, 20, [1, 1, 1], noise),
    ];
    for (const { data, dims } of cases) {
      const points = width * height;
      const ours = buildLatticeWasm(data, points, dims, sliceAlpha(dims));
      const reference = buildLattice(data, points, dims);
      expect(ours.lattice.vertices).toBe(reference.vertices);
      expect(firstDifference(ours.lattice.offsets, reference.offsets)).toBe(-1);
      expect(firstDifference(ours.lattice.weights, reference.weights)).toBe(-1);
      expect(firstDifference(ours.lattice.neighbours, reference.neighbours)).toBe(-1);
    }
    const grown = buildLatticeWasm(cases[4].data, width * height, 5, 1).lattice.vertices;
    expect(grown).toBeGreaterThan((width * height) / 2);
  });

  it('computes the normaliser K1 as the TypeScript filter does', () => {
    const scene = syntheticScene(64, 48, 3, 2);
    const features = bilateralFeatures(64, 48, 30, 30, [10, 10, 10], scene.rgb);
    for (const normalization of ['symmetric', 'before', 'after'] as const) {
      const wasm = new LatticeFilter(features, normalization, { wasm: true });
      const js = new LatticeFilter(features, normalization);
      expect(maxAbsDiff(wasm.pre, js.pre)).toBeLessThan(1e-5 * Math.max(...js.pre));
      expect(maxAbsDiff(wasm.post, js.post)).toBeLessThan(1e-5 * Math.max(...js.post));
    }
  });

  it('takes the TypeScript lattice for features too large for float32 keys', () => {
    const features = gaussianFeatures(16, 12, 1e-7, 1e-7);
    const filter = new LatticeFilter(features, 'symmetric', { wasm: true });
    expect(filter.lattice).toEqual(buildLattice(features.data, 16 * 12, 2));
  });

  it.each([2, 3, 4, 5, 8, 21])('matches the js engine with %i labels (padding lanes)', (labels) => {
    const scene = syntheticScene(57, 41, labels, 20 + labels);
    const wasm = crfOf(scene, { engine: 'wasm' });
    const js = crfOf(scene, { engine: 'js' });
    const qWasm = wasm.inference(5);
    const qJs = js.inference(5);
    expect(qWasm.length).toBe(scene.width * scene.height * labels);
    expect(meanAbsDiff(qWasm, qJs)).toBeLessThan(1e-6);
    expect(maxAbsDiff(qWasm, qJs)).toBeLessThan(1e-4);
    expect(labelAgreement(wasm.map(qWasm), js.map(qJs))).toBeGreaterThanOrEqual(0.999);
    // Marginals: each row sums to one.
    for (let i = 0; i < qWasm.length; i += labels) {
      let sum = 0;
      for (let k = 0; k < labels; k++) sum += qWasm[i + k];
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
  });

  it.each(['diagonal', 'matrix'] as const)('matches the js engine with a %s compatibility', (kind) => {
    const scene = syntheticScene(40, 30, 5, 7);
    const qWasm = crfOf(scene, { engine: 'wasm' }, kind).inference(4);
    const qJs = crfOf(scene, { engine: 'js' }, kind).inference(4);
    expect(meanAbsDiff(qWasm, qJs)).toBeLessThan(1e-6);
    expect(maxAbsDiff(qWasm, qJs)).toBeLessThan(1e-4);
  });

  it.each(['before', 'after', 'none'] as const)(
    'matches the js engine with %s normalisation',
    (normalization) => {
      const scene = syntheticScene(40, 30, 3, 9);
      const run = (engine: 'wasm' | 'js') => {
        const crf = new DenseCRF2D(40, 30, 3, { engine });
        crf.setUnaryEnergy(scene.unary);
        crf.addPairwiseGaussian({ sxy: 3, compat: 3, normalization });
        crf.addPairwiseBilateral({ sxy: 20, srgb: 13, rgb: scene.rgb, compat: 5, normalization });
        return crf.inference(3);
      };
      const qWasm = run('wasm');
      const qJs = run('js');
      expect(meanAbsDiff(qWasm, qJs)).toBeLessThan(1e-5);
    },
  );

  it('steps exactly as inference runs, and honours changes to state.q between steps', () => {
    const scene = syntheticScene(50, 40, 6, 3);
    const crf = crfOf(scene, {});
    const state = crf.startInference();
    expect(state.q).toEqual(crf.inference(0));
    for (let it = 0; it < 3; it++) crf.stepInference(state);
    expect(state.iteration).toBe(3);
    expect(state.q).toEqual(crf.inference(3));

    // A Q set by hand (uniform) is the one the next step starts from, as in the js engine.
    const uniform = { q: new Float32Array(state.q.length).fill(1 / 6), iteration: 0 };
    const js = crfOf(scene, { engine: 'js' });
    const wasmState = crf.startInference();
    wasmState.q.set(uniform.q);
    crf.stepInference(wasmState);
    const jsState = js.startInference();
    jsState.q.set(uniform.q);
    js.stepInference(jsState);
    expect(maxAbsDiff(wasmState.q, jsState.q)).toBeLessThan(1e-5);
  });

  it('gives the same Q when its memory is reused by CRFs of other sizes (stale memory)', () => {
    const small = syntheticScene(30, 20, 4, 1);
    const first = crfOf(small, {}).inference(3);
    crfOf(syntheticScene(120, 90, 21, 2), {}).inference(2);
    crfOf(syntheticScene(31, 19, 3, 3), {}).inference(2);
    expect(crfOf(small, {}).inference(3)).toEqual(first);
  });

  it('runs with no pairwise term (Q = softmax(-U)) and with a single one, as the js engine', () => {
    const scene = syntheticScene(20, 15, 6, 12);
    for (const terms of [0, 1]) {
      const run = (engine: 'wasm' | 'js') => {
        const crf = new DenseCRF2D(20, 15, 6, { engine });
        crf.setUnaryEnergy(scene.unary);
        if (terms) crf.addPairwiseBilateral({ sxy: 10, srgb: 13, rgb: scene.rgb, compat: 4 });
        return crf.inference(3);
      };
      expect(maxAbsDiff(run('wasm'), run('js'))).toBeLessThan(1e-5);
    }
  });

  it('rejects engine options it cannot honour', () => {
    expect(() => new DenseCRF2D(4, 4, 2, { engine: 'gpu' as 'js' })).toThrow(
      /options.engine: must be 'auto', 'wasm' or 'js'/,
    );
    expect(() => new DenseCRF2D(4, 4, 2, { engine: 'wasm', method: 'exact' })).toThrow(InputError);
    expect(() => new DenseCRF2D(4, 4, 2, { engine: 'wasm', plainLoops: true })).toThrow(/plainLoops/);
  });
});
