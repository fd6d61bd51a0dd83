import type { Features } from './features.js';
import { type Normalization, type PairwiseFilter, normalizationFactors } from './pairwise-filter.js';

/** Pairs whose kernel values are kept between applications (8 bytes each). */
const maxCachedPairs = 16_000_000;

/**
 * The kernel summed exactly over all pairs, O(N^2) per application, in float64: the oracle the
 * lattice is tested against. The self term i = j is included, as on the lattice.
 */
export class ExactFilter implements PairwiseFilter {
  readonly features: Features;
  readonly normalization: Normalization;
  private readonly points: number;
  private readonly pre: Float32Array;
  private readonly post: Float32Array;
  private cachedKernel: Float64Array | undefined;

  constructor(features: Features, normalization: Normalization) {
    this.features = features;
    this.normalization = normalization;
    this.points = features.data.length / features.dims;
    const ones = new Float32Array(this.points).fill(1);
    const kernelOfOnes = new Float32Array(this.points);
    this.apply(ones, 1, ones, ones, 1, kernelOfOnes);
    const { pre, post } = normalizationFactors(kernelOfOnes, normalization);
    this.pre = pre;
    this.post = post;
  }

  filterInto(input: Float32Array, labels: number, scale: number, out: Float32Array): void {
    this.apply(input, labels, this.pre, this.post, scale, out);
  }

  private apply(
    input: Float32Array,
    labels: number,
    pre: Float32Array,
    post: Float32Array,
    scale: number,
    out: Float32Array,
  ): void {
    const n = this.points;
    const x = new Float64Array(n * labels);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < labels; k++) x[i * labels + k] = pre[i] * input[i * labels + k];
    const y = new Float64Array(n * labels);
    const kernel = this.pairKernel();
    for (let i = 0; i < n; i++) for (let k = 0; k < labels; k++) y[i * labels + k] = x[i * labels + k];
    if (kernel) accumulatePairs(n, labels, kernel, x, y);
    else accumulatePairsOnTheFly(n, labels, this.features, x, y);
    for (let i = 0; i < n; i++) {
      const c = scale * post[i];
      for (let k = 0; k < labels; k++) out[i * labels + k] += c * y[i * labels + k];
    }
  }

  /** k(i, j) for i < j, row by row, kept while it fits the cache budget (filtering is then cheap). */
  private pairKernel(): Float64Array | undefined {
    const n = this.points;
    const pairs = (n * (n - 1)) / 2;
    if (this.cachedKernel || pairs > maxCachedPairs) return this.cachedKernel;
    const kernel = new Float64Array(pairs);
    for (let i = 0, pair = 0; i < n; i++)
      for (let j = i + 1; j < n; j++, pair++) kernel[pair] = kernelValue(this.features, i, j);
    this.cachedKernel = kernel;
    return kernel;
  }
}

function kernelValue(features: Features, i: number, j: number): number {
  const f = features.data;
  const dims = features.dims;
  let dist2 = 0;
  for (let c = 0; c < dims; c++) {
    const diff = f[i * dims + c] - f[j * dims + c];
    dist2 += diff * diff;
  }
  return Math.exp(-0.5 * dist2);
}

/** y_i += k(i, j) x_j and y_j += k(i, j) x_i over all pairs i < j, with k read from the cache. */
function accumulatePairs(
  n: number,
  labels: number,
  kernel: Float64Array,
  x: Float64Array,
  y: Float64Array,
): void {
  // One label at a time on contiguous copies: the inner loop keeps its running sum in a register.
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let k = 0; k < labels; k++) {
    for (let i = 0; i < n; i++) xs[i] = x[i * labels + k];
    ys.fill(0);
    let pair = 0;
    for (let i = 0; i < n; i++) {
      const xi = xs[i];
      let sum = 0;
      for (let j = i + 1; j < n; j++) {
        const kij = kernel[pair++];
        sum += kij * xs[j];
        ys[j] += kij * xi;
      }
      ys[i] += sum;
    }
    for (let i = 0; i < n; i++) y[i * labels + k] += ys[i];
  }
}

function accumulatePairsOnTheFly(
  n: number,
  labels: number,
  features: Features,
  x: Float64Array,
  y: Float64Array,
): void {
  for (let i = 0; i < n; i++) {
    const xi = i * labels;
    for (let j = i + 1; j < n; j++) {
      const kij = kernelValue(features, i, j);
      const xj = j * labels;
      for (let k = 0; k < labels; k++) {
        y[xi + k] += kij * x[xj + k];
        y[xj + k] += kij * x[xi + k];
      }
    }
  }
}
