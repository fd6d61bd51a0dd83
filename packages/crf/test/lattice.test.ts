import { describe, expect, it } from 'vitest';
import { expNonPositive } from '../src/fast-exp.js';
import { bilateralFeatures, gaussianFeatures } from '../src/features.js';
import { generatedLoopsSource, plainLoops } from '../src/filter-loops.js';
import { KeyTable } from '../src/key-table.js';
import { buildLattice } from '../src/lattice.js';
import { syntheticScene } from './scene.js';

const scene = syntheticScene(37, 23, 3, 5);

describe('permutohedral lattice', () => {
  const features = bilateralFeatures(scene.width, scene.height, 7, 7, [9, 9, 9], scene.rgb);
  const points = scene.width * scene.height;
  const lattice = buildLattice(features.data, points, 5);

  it('gives every point d + 1 distinct vertices with barycentric weights >= 0 summing to 1', () => {
    for (let i = 0; i < points; i++) {
      const corners = lattice.offsets.subarray(i * 6, i * 6 + 6);
      expect(new Set(corners).size).toBe(6);
      for (const o of corners) expect(o).toBeGreaterThan(0);
      let sum = 0;
      for (let r = 0; r < 6; r++) {
        const w = lattice.weights[i * 6 + r];
        expect(w).toBeGreaterThanOrEqual(-1e-6);
        sum += w;
      }
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('links neighbours symmetrically: n2 of n1(v) along an axis is v', () => {
    const { vertices, neighbours } = lattice;
    let linked = 0;
    for (let j = 0; j < 6; j++) {
      for (let v = 0; v < vertices; v++) {
        const n1 = neighbours[(j * vertices + v) * 2];
        if (n1 === 0) continue;
        linked++;
        expect(neighbours[(j * vertices + n1 - 1) * 2 + 1]).toBe(v + 1);
      }
    }
    expect(linked).toBeGreaterThan(0);
  });

  it('the generated (unrolled) construction is bit-identical to the plain loop', () => {
    const plain = buildLattice(features.data, points, 5, { plainLoops: true });
    expect(plain.vertices).toBe(lattice.vertices);
    expect(plain.offsets).toEqual(lattice.offsets);
    expect(plain.weights).toEqual(lattice.weights);
    expect(plain.neighbours).toEqual(lattice.neighbours);
    const g = gaussianFeatures(scene.width, scene.height, 3, 3);
    const a = buildLattice(g.data, points, 2);
    const b = buildLattice(g.data, points, 2, { plainLoops: true });
    expect(b.offsets).toEqual(a.offsets);
    expect(b.weights).toEqual(a.weights);
  });

  it('generated filter loops equal the plain loops', () => {
    const labels = 3;
    const generated = new Function(generatedLoopsSource(6, labels))() as ReturnType<typeof plainLoops>;
    const plain = plainLoops(6, labels);
    const pre = new Float32Array(points).fill(0.5);
    const results = [generated, plain].map((loops) => {
      const values = new Float32Array((lattice.vertices + 2) * labels);
      const scratch = new Float32Array(values.length);
      loops.splat(points, labels, 0, lattice.offsets, lattice.weights, pre, scene.unary, values);
      const blurred = loops.blur(lattice.vertices, lattice.neighbours, values, scratch);
      const out = new Float32Array(points * labels);
      loops.slice(0, points, labels, 0, lattice.offsets, lattice.weights, pre, 2, blurred, out);
      return out;
    });
    for (let i = 0; i < results[0].length; i++) expect(results[0][i]).toBeCloseTo(results[1][i], 4);
  });
});

describe('helpers', () => {
  it('KeyTable numbers keys in insertion order and survives growth', () => {
    const table = new KeyTable(3, 1);
    const key = new Int32Array(3);
    for (let i = 0; i < 5000; i++) {
      key.set([i, -i, i * 7]);
      expect(table.find(key, true)).toBe(i);
    }
    key.set([42, -42, 294]);
    expect(table.find(key, false)).toBe(42);
    key.set([42, 42, 294]);
    expect(table.find(key, false)).toBe(-1);
    const out = new Int32Array(3);
    table.keyOf(4999, out);
    expect([...out]).toEqual([4999, -4999, 34993]);
  });

  it('expNonPositive matches Math.exp to 1e-12 relative', () => {
    for (let i = 0; i <= 10000; i++) {
      const x = -i * 0.0103;
      expect(Math.abs(expNonPositive(x) / Math.exp(x) - 1)).toBeLessThan(1e-12);
    }
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-1000)).toBe(0);
  });
});
