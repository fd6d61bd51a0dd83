import { expNonPositive } from './fast-exp.js';

/**
 * q[i] = softmax(energy[i]) for pixels start..end-1, each row of `labels` values; the row maximum is
 * subtracted first, as the reference's expAndNormalize does.
 */
export function softmaxRows(
  energy: Float32Array,
  q: Float32Array,
  labels: number,
  start: number,
  end: number,
): void {
  for (let i = start; i < end; i++) {
    const base = i * labels;
    let max = energy[base];
    for (let k = 1; k < labels; k++) if (energy[base + k] > max) max = energy[base + k];
    let sum = 0;
    for (let k = 0; k < labels; k++) {
      const e = expNonPositive(energy[base + k] - max);
      q[base + k] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let k = 0; k < labels; k++) q[base + k] *= inv;
  }
}
