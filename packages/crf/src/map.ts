/** argmax over each row of `labels` values (the first index on ties), as uint8 labels. */
export function argmaxLabels(q: Float32Array, labels: number): Uint8Array {
  const n = q.length / labels;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * labels;
    let best = 0;
    let bestValue = q[base];
    for (let k = 1; k < labels; k++) {
      if (q[base + k] > bestValue) {
        bestValue = q[base + k];
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}
