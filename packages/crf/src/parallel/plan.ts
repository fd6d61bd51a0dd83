// What a thread needs to run mean field on its share of the work, in SharedArrayBuffers. Shared by
// the Node pool (worker_threads) and usable from Web Workers (cross-origin isolated pages).
import type { ResolvedCompatibility } from '../compatibility.js';

export interface SharedKernel {
  dims: number;
  vertices: number;
  offsets: Int32Array;
  weights: Float32Array;
  neighbours: Int32Array;
  pre: Float32Array;
  post: Float32Array;
  alpha: number;
  compat: ResolvedCompatibility;
  /** N x labels scratch for a non-Potts compatibility (applied per pixel after filtering); else empty. */
  filtered: Float32Array;
}

export interface ThreadTask {
  kind: 'js';
  points: number;
  labels: number;
  iterations: number;
  /** Plain loops instead of generated ones (the CRF was built with plainLoops). */
  plainLoops: boolean;
  /** Number of threads meeting at each barrier. */
  parties: number;
  /** This thread's labels [first, end) for splat/blur/slice. */
  labelStart: number;
  labelEnd: number;
  /** This thread's pixels [start, end) for the compatibility and softmax step. */
  pixelStart: number;
  pixelEnd: number;
  /** [arrived, generation] of the barrier. */
  barrier: Int32Array;
  unary: Float32Array;
  q: Float32Array;
  /** -sum of compatibility-weighted filtered Q; zero at the start of each iteration. */
  messages: Float32Array;
  kernels: SharedKernel[];
}

export function sharedCopy<T extends Float32Array | Int32Array>(array: T): T {
  const buffer = new SharedArrayBuffer(array.byteLength);
  const copy = new (array.constructor as { new (b: SharedArrayBuffer): T })(buffer);
  copy.set(array);
  return copy;
}

export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

/** Splits 0..total into `parts` contiguous ranges differing in size by at most one. */
export function splitRange(total: number, parts: number, index: number): [number, number] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  const start = index * base + Math.min(index, extra);
  return [start, start + base + (index < extra ? 1 : 0)];
}
