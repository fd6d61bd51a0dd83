// Builds a permutohedral lattice with the WebAssembly kernels of lattice-kernels.ts: the same
// Lattice (offsets, weights, neighbours, vertex numbering) as lattice.ts computes, several times
// faster. The hash table grows on demand: locate stops when it is full, the table moves to a larger
// region at the end of memory, and locate resumes at the point where it stopped.
import { InputError } from '../errors.js';
import type { Lattice } from '../lattice.js';
import { chunkSize, inChunks } from './chunks.js';
import { encodeModule } from './encoder.js';
import { blur, slice, splat } from './filter-calls.js';
import { blurKernel, blurName, sliceKernel, sliceName, splatKernel, splatName } from './kernels.js';
import {
  locateKernel,
  locateName,
  neighboursKernel,
  neighboursName,
  rehashKernel,
  rehashName,
} from './lattice-kernels.js';
import {
  type Kernel,
  acquireMemory,
  compileAsync,
  compileCached,
  maxPages,
  pageBytes,
  releaseMemory,
} from './runtime.js';

/** Past this magnitude float32 lattice coordinates lose integer precision (and i32 keys overflow). */
export const maxFeatureMagnitude = 2 ** 20;

function latticeBytes(dims: number): () => Uint8Array<ArrayBuffer> {
  return () => {
    const functions = [locateKernel(dims), rehashKernel(dims), neighboursKernel(dims)];
    // Filtering one channel of ones gives the normaliser K1 while the lattice is still in memory.
    functions.push(splatKernel(dims, 1), blurKernel(1), sliceKernel(dims, 1, false));
    return encodeModule(functions, { minimumPages: 0, shared: false });
  };
}

/** The lattice module for `dims`, or undefined where it cannot be compiled (see compileCached). */
export function latticeModule(dims: number): WebAssembly.Module | undefined {
  return compileCached(`lattice/${dims}`, latticeBytes(dims));
}

/** Compiles the lattice module for `dims` in the background (see prepareWasm). */
export function latticeModuleAsync(dims: number): Promise<WebAssembly.Module | undefined> {
  return compileAsync(`lattice/${dims}`, latticeBytes(dims));
}

/** Whether the WebAssembly build can take these features (finite, not too large, module compiled). */
export function fitsWasmLattice(features: Float32Array, dims: number, bound?: number): boolean {
  if (!latticeModule(dims)) return false;
  if (bound !== undefined) return bound <= maxFeatureMagnitude;
  let largest = 0;
  for (let i = 0; i < features.length; i++) largest = Math.max(largest, Math.abs(features[i]));
  return largest <= maxFeatureMagnitude;
}

class Arena {
  readonly memory: WebAssembly.Memory;
  private top = 0;

  constructor(bytes: number) {
    this.memory = acquireMemory(Math.ceil(bytes / pageBytes));
  }

  /** Zeroes a region (a reused memory holds stale data). */
  zero(at: number, bytes: number): void {
    new Uint8Array(this.memory.buffer, at, bytes).fill(0);
  }

  reserve(bytes: number): number {
    const at = this.top;
    this.top += Math.ceil(bytes / 16) * 16;
    const missing = this.top - this.memory.buffer.byteLength;
    if (this.top > maxPages * pageBytes) {
      throw new InputError(
        'features',
        `the lattice needs over ${(this.top / 2 ** 30).toFixed(1)} GiB of WebAssembly memory, past its 4 GiB limit; use engine 'js'`,
      );
    }
    if (missing > 0) this.memory.grow(Math.ceil(missing / pageBytes));
    return at;
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1024;
  while (p < n) p *= 2;
  return p;
}

/**
 * The lattice of `features` (N x dims) and K1, the lattice filter (times alpha, as the reference's
 * slice) of a constant 1 at every point: the normaliser of the kernel.
 */
export function buildLatticeWasm(
  features: Float32Array,
  points: number,
  dims: number,
  alpha: number,
): { lattice: Lattice; kernelOfOnes: Float32Array } {
  const d1 = dims + 1;
  let capacity = Math.max(1024, Math.ceil(points / 2));
  let slotCount = powerOfTwoAtLeast(capacity * 2);
  const module = latticeModule(dims);
  if (!module)
    throw new Error('wasm: the lattice module cannot be compiled here (check fitsWasmLattice first)');
  const arena = new Arena(points * (dims + 2 * d1) * 4 + (slotCount + capacity * dims) * 4 + 4096);
  const exports = new WebAssembly.Instance(module, { env: { memory: arena.memory } })
    .exports as unknown as Record<string, (...args: number[]) => number>;
  const state = arena.reserve(4 * (dims + 4));
  const featuresAt = arena.reserve(points * dims * 4);
  const offsetsAt = arena.reserve(points * d1 * 4);
  const weightsAt = arena.reserve(points * d1 * 4);
  let slots = arena.reserve(slotCount * 4);
  let keys = arena.reserve(capacity * dims * 4);
  arena.zero(state, 4);
  arena.zero(slots, slotCount * 4);
  new Float32Array(arena.memory.buffer, featuresAt, points * dims).set(features);

  const locate = exports[locateName(dims)];
  for (let chunk = 0; chunk < points; chunk += chunkSize) {
    const end = Math.min(points, chunk + chunkSize);
    let reached = chunk;
    for (;;) {
      reached = locate(
        featuresAt,
        reached,
        end,
        offsetsAt,
        weightsAt,
        slots,
        slotCount - 1,
        keys,
        capacity,
        state,
      );
      if (reached >= end) break;
      // Full: move the keys to a table twice the size and rebuild its slots.
      const count = new Int32Array(arena.memory.buffer, state, 1)[0];
      capacity *= 2;
      slotCount *= 2;
      const newSlots = arena.reserve(slotCount * 4);
      const newKeys = arena.reserve(capacity * dims * 4);
      arena.zero(newSlots, slotCount * 4);
      const heap = new Int32Array(arena.memory.buffer);
      heap.copyWithin(newKeys / 4, keys / 4, keys / 4 + count * dims);
      exports[rehashName(dims)](newKeys, count, newSlots, slotCount - 1);
      slots = newSlots;
      keys = newKeys;
    }
  }
  const vertices = new Int32Array(arena.memory.buffer, state, 1)[0];
  const neighboursAt = arena.reserve(d1 * vertices * 2 * 4);
  for (let axis = 0; axis <= dims; axis++) {
    const out = neighboursAt + axis * vertices * 8;
    inChunks(vertices, (start, count) =>
      exports[neighboursName(dims)](keys, start, start + count, slots, slotCount - 1, out + start * 8, axis),
    );
  }

  const kernelOfOnes = filterOnes(
    arena,
    exports,
    dims,
    points,
    vertices,
    alpha,
    offsetsAt,
    weightsAt,
    neighboursAt,
  );
  const buffer = arena.memory.buffer;
  const lattice = {
    points,
    dims,
    vertices,
    offsets: new Int32Array(buffer, offsetsAt, points * d1).slice(),
    weights: new Float32Array(buffer, weightsAt, points * d1).slice(),
    neighbours: new Int32Array(buffer, neighboursAt, d1 * vertices * 2).slice(),
  };
  releaseMemory(arena.memory);
  return { lattice, kernelOfOnes };
}

function filterOnes(
  arena: Arena,
  exports: Record<string, Kernel>,
  dims: number,
  points: number,
  vertices: number,
  alpha: number,
  offsets: number,
  weights: number,
  neighbours: number,
): Float32Array {
  const one = arena.reserve(16);
  const rowsBytes = (vertices + 2) * 16;
  const values = arena.reserve(rowsBytes);
  const scratch = arena.reserve(rowsBytes);
  const out = arena.reserve(points * 16);
  new Float32Array(arena.memory.buffer, one, 4).fill(1);
  arena.zero(values, rowsBytes);
  arena.zero(scratch, 16);
  const lattice = { dims, vertices, offsets, weights, neighbours };
  // Input and pre-factor: the same vector of ones for every point (stride 0).
  const ones = { at: one, stride: 0 };
  splat(exports[splatName(dims, 1)], points, lattice, ones, ones, values);
  const blurred = blur(exports[blurName(1)], lattice, values, scratch);
  slice(exports[sliceName(dims, 1, false)], points, lattice, blurred, ones, alpha, { at: out, stride: 16 });
  const lanes = new Float32Array(arena.memory.buffer, out, points * 4);
  const kernelOfOnes = new Float32Array(points);
  for (let i = 0; i < points; i++) kernelOfOnes[i] = lanes[i * 4];
  return kernelOfOnes;
}
