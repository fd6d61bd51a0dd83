// exp(x) for x <= 0, as a table of 2^(s/64) times 2^q times a degree-4 polynomial on |r| <= ln2/128:
// relative error below 1e-13, and several times faster than Math.exp in the softmax hot loop
// (N x labels calls per iteration).

const steps = 64;
const toSteps = steps / Math.LN2;
const stepLength = Math.LN2 / steps;
/** Below this exp(x) is under float32's smallest subnormal: Q stores 0 anyway. */
const cutoff = -104;
const minQ = -152;
const roundingMagic = 6755399441055744;

const fraction = new Float64Array(steps);
for (let s = 0; s < steps; s++) fraction[s] = 2 ** (s / steps);
const power = new Float64Array(-minQ + 1);
for (let q = minQ; q <= 0; q++) power[q - minQ] = 2 ** q;

/** The tables and constants, for generated code that inlines the same computation. */
export const expTables = { fraction, power, minQ, toSteps, stepLength, cutoff, roundingMagic };

/** exp(x) for x <= 0 (the softmax subtracts the maximum first). */
export function expNonPositive(x: number): number {
  if (x < cutoff) return 0;
  // Adding 1.5 * 2^52 rounds to an integer in the FPU, faster than Math.round.
  const k = (x * toSteps + roundingMagic - roundingMagic) | 0;
  const r = x - k * stepLength;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24))));
  return p * fraction[k & (steps - 1)] * power[(k >> 6) - minQ];
}
