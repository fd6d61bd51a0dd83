import { expNonPositive, expTables } from './fast-exp.js';
import { canGenerateCode } from './filter-loops.js';

/**
 * q[i] = softmax(messages[i] - unary[i]) for pixels start..end-1, rows of `labels` values; the row
 * maximum is subtracted first, as the reference's expAndNormalize does.
 */
export type SoftmaxRows = (
  messages: Float32Array,
  unary: Float32Array,
  q: Float32Array,
  start: number,
  end: number,
) => void;

function plainSoftmax(labels: number): SoftmaxRows {
  const row = new Float64Array(labels);
  return (messages, unary, q, start, end) => {
    for (let i = start; i < end; i++) {
      const base = i * labels;
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < labels; k++) {
        const x = messages[base + k] - unary[base + k];
        row[k] = x;
        if (x > max) max = x;
      }
      let sum = 0;
      for (let k = 0; k < labels; k++) {
        const e = expNonPositive(row[k] - max);
        row[k] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let k = 0; k < labels; k++) q[base + k] = row[k] * inv;
    }
  };
}

/** expNonPositive written out in place (V8 stops inlining calls in a body this large). */
function inlineExp(target: string, argument: string): string {
  const { toSteps, stepLength, cutoff, roundingMagic, minQ } = expTables;
  return `let ${target} = 0; { const x = ${argument}; if (x >= ${cutoff}) { const k = (x * ${toSteps} + ${roundingMagic} - ${roundingMagic}) | 0; const r = x - k * ${stepLength}; ${target} = (1 + r * (1 + r * (0.5 + r * (${1 / 6} + r * ${1 / 24})))) * fraction[k & 63] * power[(k >> 6) - ${minQ}]; } }`;
}

export function generatedSoftmaxSource(labels: number): string {
  const ks = Array.from({ length: labels }, (_, k) => k);
  return `
'use strict';
return function softmax(messages, unary, q, start, end) {
  for (let i = start; i < end; i++) {
    const b = i * ${labels};
    ${ks.map((k) => `const x${k} = messages[b + ${k}] - unary[b + ${k}];`).join('\n    ')}
    let m = x0;
    ${ks
      .slice(1)
      .map((k) => `if (x${k} > m) m = x${k};`)
      .join(' ')}
    ${ks.map((k) => inlineExp(`y${k}`, `x${k} - m`)).join('\n    ')}
    const inv = 1 / (${ks.map((k) => `y${k}`).join(' + ')});
    ${ks.map((k) => `q[b + ${k}] = y${k} * inv;`).join(' ')}
  }
};`;
}

const cache = new Map<number, SoftmaxRows>();
const maxUnrolledLabels = 64;

/** The softmax over rows of `labels` values, unrolled where code generation is allowed. */
export function softmaxFor(labels: number, plain = false): SoftmaxRows {
  if (plain || labels > maxUnrolledLabels || !canGenerateCode()) return plainSoftmax(labels);
  let softmax = cache.get(labels);
  if (!softmax) {
    softmax = new Function('fraction', 'power', generatedSoftmaxSource(labels))(
      expTables.fraction,
      expTables.power,
    ) as SoftmaxRows;
    cache.set(labels, softmax);
  }
  return softmax;
}
