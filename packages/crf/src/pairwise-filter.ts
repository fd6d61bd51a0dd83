/**
 * How a kernel's output is normalised, as densecrf's NormalizationType: with n = 1/sqrt(K1) or 1/K1,
 * 'symmetric' filters n * K(n * Q) (the reference's default), 'before' K(n * Q), 'after' n * K(Q),
 * and 'none' K(Q) unnormalised.
 */
export type Normalization = 'symmetric' | 'before' | 'after' | 'none';

/** One Gaussian kernel k(fi, fj) = exp(-|fi - fj|^2 / 2) over N points, with its normalisation. */
export interface PairwiseFilter {
  readonly normalization: Normalization;
  /** out += scale * filtered(input), both N x labels row-major. */
  filterInto(input: Float32Array, labels: number, scale: number, out: Float32Array): void;
}

/** Pre- and post-filter factors of a normalisation, given K1 (the kernel applied to ones). */
export function normalizationFactors(
  kernelOfOnes: Float32Array,
  normalization: Normalization,
): { pre: Float32Array; post: Float32Array } {
  const n = kernelOfOnes.length;
  const ones = new Float32Array(n).fill(1);
  if (normalization === 'none') return { pre: ones, post: ones };
  const norm = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    norm[i] =
      normalization === 'symmetric' ? 1 / Math.sqrt(kernelOfOnes[i] + 1e-20) : 1 / (kernelOfOnes[i] + 1e-20);
  }
  if (normalization === 'symmetric') return { pre: norm, post: norm };
  return normalization === 'before' ? { pre: norm, post: ones } : { pre: ones, post: norm };
}
