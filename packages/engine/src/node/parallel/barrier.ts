import { MAX_TERMS } from './protocol.js';

/** Int32 words before the counts: [arrivals]. Counts start at a multiple of 8 bytes. */
const HEADER_WORDS = 2;

/** The shared buffer of a pool's barrier: an arrival counter and each replica's counts. */
export function barrierBuffer(replicas: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_WORDS * 4 + replicas * MAX_TERMS * 8);
}

/**
 * Exchanges each replica's labelled-pixel counts (one per loss term) inside a step, so that
 * every shard divides by the whole batch's count: the mean over all labelled pixels of the batch,
 * exactly the single-thread loss. Blocks this thread until every replica of the step arrived
 * (`sequence` counts the pool's steps), then returns the totals, summed in replica order so that
 * every replica gets the same numbers.
 */
export function exchangeCounts(
  buffer: SharedArrayBuffer,
  replicas: number,
  index: number,
  sequence: number,
  counts: readonly number[],
): number[] {
  const control = new Int32Array(buffer, 0, HEADER_WORDS);
  const all = new Float64Array(buffer, HEADER_WORDS * 4, replicas * MAX_TERMS);
  // A replica with no images this step arrives with no counts: its slots must read as zeros.
  all.fill(0, index * MAX_TERMS, (index + 1) * MAX_TERMS);
  for (let t = 0; t < counts.length; t++) all[index * MAX_TERMS + t] = counts[t]!;
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
  const target = sequence * replicas;
  for (;;) {
    const arrived = Atomics.load(control, 0);
    if (arrived >= target) break;
    Atomics.wait(control, 0, arrived);
  }
  return counts.map((_, t) => {
    let total = 0;
    for (let k = 0; k < replicas; k++) total += all[k * MAX_TERMS + t]!;
    return total;
  });
}
