import { InputError } from './errors.js';
import { requireFiniteNumber, requireLength } from './validate.js';

/**
 * Label compatibility of a pairwise term, as in densecrf: a number w is the Potts model (same labels
 * attract with weight w); `diagonal` (one weight per label) and `matrix` (labels x labels, row-major,
 * symmetrised as (M + M^T)/2) are energies added for label pairs, so Potts w equals
 * `{ matrix: w * (1 - I) }` and `{ diagonal: -w }`.
 */
export type Compatibility = number | { diagonal: ArrayLike<number> } | { matrix: ArrayLike<number> };

export type ResolvedCompatibility =
  | { kind: 'potts'; weight: number }
  | { kind: 'diagonal'; weights: Float64Array }
  | { kind: 'matrix'; weights: Float64Array };

export function resolveCompatibility(
  name: string,
  compat: Compatibility,
  labels: number,
): ResolvedCompatibility {
  if (typeof compat === 'number') {
    requireFiniteNumber(name, compat);
    return { kind: 'potts', weight: compat };
  }
  if (compat !== null && typeof compat === 'object' && 'diagonal' in compat) {
    requireLength(`${name}.diagonal`, compat.diagonal, labels, 'one weight per label');
    const weights = Float64Array.from(compat.diagonal);
    weights.forEach((w, i) => requireFiniteNumber(`${name}.diagonal[${i}]`, w));
    return { kind: 'diagonal', weights };
  }
  if (compat !== null && typeof compat === 'object' && 'matrix' in compat) {
    requireLength(`${name}.matrix`, compat.matrix, labels * labels, 'labels x labels, row-major');
    const m = Float64Array.from(compat.matrix);
    m.forEach((w, i) => requireFiniteNumber(`${name}.matrix[${i}]`, w));
    const weights = new Float64Array(labels * labels);
    for (let a = 0; a < labels; a++) {
      for (let b = 0; b < labels; b++)
        weights[a * labels + b] = 0.5 * (m[a * labels + b] + m[b * labels + a]);
    }
    return { kind: 'matrix', weights };
  }
  throw new InputError(name, 'must be a number (Potts), { diagonal } or { matrix }');
}

/** energy -= compat(filtered) for the diagonal and matrix forms (Potts is fused into the filter). */
export function subtractCompatibility(
  compat: ResolvedCompatibility,
  filtered: Float32Array,
  labels: number,
  energy: Float32Array,
): void {
  const n = filtered.length / labels;
  if (compat.kind === 'diagonal') {
    const w = compat.weights;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < labels; k++) energy[i * labels + k] -= w[k] * filtered[i * labels + k];
    }
  } else if (compat.kind === 'matrix') {
    const w = compat.weights;
    for (let i = 0; i < n; i++) {
      const base = i * labels;
      for (let k = 0; k < labels; k++) {
        let sum = 0;
        for (let l = 0; l < labels; l++) sum += w[k * labels + l] * filtered[base + l];
        energy[base + k] -= sum;
      }
    }
  }
}
