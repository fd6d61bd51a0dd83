/**
 * Points (or vertices) per kernel call. A long-running call stays in V8's baseline (Liftoff) code;
 * between calls the optimised (TurboFan) code replaces it, so splitting the first, one-shot run
 * into calls of this size lets it speed up part-way. Calls cost well under a microsecond.
 */
export const chunkSize = 16384;

/** Calls fn(start, count) over 0..total in chunks. */
export function inChunks(total: number, fn: (start: number, count: number) => void): void {
  for (let start = 0; start < total; start += chunkSize) fn(start, Math.min(chunkSize, total - start));
}
