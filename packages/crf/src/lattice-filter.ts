import type { Features } from './features.js';
import { type FilterLoops, filterLoops } from './filter-loops.js';
import { type Lattice, buildLattice } from './lattice.js';
import { type Normalization, type PairwiseFilter, normalizationFactors } from './pairwise-filter.js';
import { buildLatticeWasm, fitsWasmLattice } from './wasm/lattice-builder.js';

export interface LatticeFilterOptions {
  /** Plain loops instead of generated ones for the TypeScript filtering and lattice build. */
  plainLoops?: boolean;
  /** Build the lattice with WebAssembly (the same lattice, faster); needs WebAssembly SIMD support. */
  wasm?: boolean;
}

/** The reference's magic constant: the lattice's blur [1/2 1 1/2]^(d+1) over-weights by 1 + 2^-d. */
export function sliceAlpha(dims: number): number {
  return Math.fround(1 / (1 + 2 ** -dims));
}

/** A kernel filtered on the permutohedral lattice: O(N d^2) per label, approximate. */
export class LatticeFilter implements PairwiseFilter {
  /** Feature dimension d (the features themselves are not kept: the lattice is all it needs). */
  readonly dims: number;
  readonly normalization: Normalization;
  readonly lattice: Lattice;
  readonly pre: Float32Array;
  readonly post: Float32Array;
  readonly alpha: number;
  private readonly plain: boolean;
  private values: Float32Array | undefined;
  private scratch: Float32Array | undefined;

  constructor(features: Features, normalization: Normalization, options: LatticeFilterOptions = {}) {
    this.dims = features.dims;
    this.normalization = normalization;
    this.plain = options.plainLoops ?? false;
    const points = features.data.length / features.dims;
    this.alpha = sliceAlpha(features.dims);
    let kernelOfOnes: Float32Array;
    // Features too large for float32 lattice keys, or a realm that refuses to compile, take the
    // TypeScript build (the same lattice).
    if (options.wasm && fitsWasmLattice(features.data, features.dims, features.bound)) {
      ({ lattice: this.lattice, kernelOfOnes } = buildLatticeWasm(
        features.data,
        points,
        features.dims,
        this.alpha,
      ));
    } else {
      this.lattice = buildLattice(features.data, points, features.dims, { plainLoops: this.plain });
      // K1 with one value per point, as the reference computes its normaliser.
      const ones = new Float32Array(points).fill(1);
      kernelOfOnes = new Float32Array(points);
      this.run(ones, 1, ones, ones, 1, kernelOfOnes);
    }
    const { pre, post } = normalizationFactors(kernelOfOnes, normalization);
    this.pre = pre;
    this.post = post;
  }

  filterInto(input: Float32Array, labels: number, scale: number, out: Float32Array): void {
    this.run(input, labels, this.pre, this.post, scale, out);
  }

  private run(
    input: Float32Array,
    labels: number,
    pre: Float32Array,
    post: Float32Array,
    scale: number,
    out: Float32Array,
  ): void {
    const { points, vertices, offsets, weights, neighbours } = this.lattice;
    const size = (vertices + 2) * labels;
    if (!this.values || this.values.length !== size) {
      this.values = new Float32Array(size);
      this.scratch = new Float32Array(size);
    } else {
      this.values.fill(0);
    }
    const loops: FilterLoops = filterLoops(this.dims + 1, labels, this.plain);
    loops.splat(points, labels, 0, offsets, weights, pre, input, this.values);
    const blurred = loops.blur(vertices, neighbours, this.values, this.scratch!);
    loops.slice(0, points, labels, 0, offsets, weights, post, scale * this.alpha, blurred, out);
  }
}
