// Builds a permutohedral lattice with the WebAssembly kernels of lattice-kernels.ts: the same
// Lattice (offsets, weights, neighbours, vertex numbering) as lattice.ts computes, several times
// faster. The hash table grows on demand: locate stops when it is full, the table moves to a larger
// region at the end of memory, and locate resumes at the point where it stopped.
import type { Lattice } from '../lattice.js';
import { encodeModule } from './encoder.js';
import { locateKernel, locateName, neighboursKernel, neighboursName, rehashKernel, rehashName } from './lattice-kernels.js';
import { type Kernel, pageBytes } from './runtime.js';

/** Past this magnitude float32 lattice coordinates lose integer precision (and i32 keys overflow). */
export const maxFeatureMagnitude = 2 ** 20;

const modules = new Map<number, WebAssembly.Module>();

function latticeModule(dims: number): WebAssembly.Module {
  let module = modules.get(dims);
  if (!module) {
    const bytes = encodeModule([locateKernel(dims), rehashKernel(dims), neighboursKernel(dims)], {
      minimumPages: 0,
      shared: false,
    });
    module = new WebAssembly.Module(bytes);
    modules.set(dims, module);
  }
  return module;
}

/** Whether the WebAssembly build can take these features (finite and not too large). */
export function fitsWasmLattice(features: Float32Array): boolean {
  for (let i = 0; i < features.length; i++) {
    if (!(Math.abs(features[i]) <= maxFeatureMagnitude)) return false;
  }
  return true;
}

class Arena {
  readonly memory: WebAssembly.Memory;
  private top = 0;

  constructor(bytes: number) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / pageBytes) });
  }

  reserve(bytes: number): number {
    const at = this.top;
    this.top += Math.ceil(bytes / 16) * 16;
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / pageBytes));
    return at;
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1024;
  while (p < n) p *= 2;
  return p;
}

export function buildLatticeWasm(features: Float32Array, points: number, dims: number): Lattice {
  const d1 = dims + 1;
  let capacity = Math.max(1024, Math.ceil(points / 2));
  let slotCount = powerOfTwoAtLeast(capacity * 2);
  const arena = new Arena(points * (dims + 2 * d1) * 4 + (slotCount + capacity * dims) * 4 + 4096);
  const exports = new WebAssembly.Instance(latticeModule(dims), { env: { memory: arena.memory } })
    .exports as unknown as Record<string, (...args: number[]) => number>;
  const state = arena.reserve(4 * (dims + 4));
  const featuresAt = arena.reserve(points * dims * 4);
  const offsetsAt = arena.reserve(points * d1 * 4);
  const weightsAt = arena.reserve(points * d1 * 4);
  let slots = arena.reserve(slotCount * 4);
  let keys = arena.reserve(capacity * dims * 4);
  new Float32Array(arena.memory.buffer, featuresAt, points * dims).set(features);

  const locate = exports[locateName(dims)];
  let reached = 0;
  for (;;) {
    reached = locate(featuresAt, reached, points, offsetsAt, weightsAt, slots, slotCount - 1, keys, capacity, state);
    if (reached >= points) break;
    // Full: move the keys to a table twice the size and rebuild its slots.
    const count = new Int32Array(arena.memory.buffer, state, 1)[0];
    capacity *= 2;
    slotCount *= 2;
    const newSlots = arena.reserve(slotCount * 4);
    const newKeys = arena.reserve(capacity * dims * 4);
    const heap = new Int32Array(arena.memory.buffer);
    heap.copyWithin(newKeys / 4, keys / 4, keys / 4 + count * dims);
    (exports[rehashName(dims)] as Kernel)(newKeys, count, newSlots, slotCount - 1);
    slots = newSlots;
    keys = newKeys;
  }
  const vertices = new Int32Array(arena.memory.buffer, state, 1)[0];
  const neighboursAt = arena.reserve(d1 * vertices * 2 * 4);
  (exports[neighboursName(dims)] as Kernel)(keys, vertices, slots, slotCount - 1, neighboursAt);

  const buffer = arena.memory.buffer;
  return {
    points,
    dims,
    vertices,
    offsets: new Int32Array(buffer, offsetsAt, points * d1).slice(),
    weights: new Float32Array(buffer, weightsAt, points * d1).slice(),
    neighbours: new Int32Array(buffer, neighboursAt, d1 * vertices * 2).slice(),
  };
}
