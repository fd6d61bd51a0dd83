// Where the replicas' shared arrays live: the weights and buffers, the optimiser's slots and every
// replica's gradients. Where they fit (4 GiB, wasm32's limit), all of them are carved from one
// shared WebAssembly.Memory, so that the optimiser update can run as a WebAssembly SIMD kernel
// over all of them in place (update-kernel.ts); otherwise each is a SharedArrayBuffer of its own
// and the update runs the JavaScript loops (fused-update.ts), which give the same bits.

/** `byteLength` bytes of a shared buffer from `byteOffset` (a multiple of 16). */
export interface SharedRegion {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

export interface SharedStore {
  /** The memory every region is part of, or null when they are separate buffers. */
  memory: WebAssembly.Memory | null;
  state: SharedRegion;
  /** One region per replica, equal in size and consecutive (`gradientStride` bytes apart) in `memory`. */
  gradients: SharedRegion[];
  gradientStride: number;
  slots: SharedRegion;
}

export interface SharedSizes {
  /** Bytes of the weights and buffers. */
  state: number;
  /** Bytes of one replica's gradients and buffers. */
  gradients: number;
  replicas: number;
  /** Bytes of the optimiser's slots (0 when the pool does not train). */
  slots: number;
}

const PAGE = 65536;
/** wasm32 addresses 4 GiB. */
const MAX_PAGES = 65536;

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * Allocates the shared arrays: in one WebAssembly.Memory when `placement` is 'memory' (or 'auto'
 * and they fit in 4 GiB and the runtime has shared WebAssembly memory), else as separate
 * SharedArrayBuffers ('buffers', also what 'auto' falls back to).
 */
export function allocateShared(
  sizes: SharedSizes,
  placement: 'auto' | 'memory' | 'buffers' = 'auto',
): SharedStore {
  const stride = align16(sizes.gradients);
  const total = align16(sizes.state) + stride * sizes.replicas + align16(sizes.slots);
  const pages = Math.max(1, Math.ceil(total / PAGE));
  if (placement !== 'buffers' && pages <= MAX_PAGES) {
    const memory = tryMemory(pages);
    if (memory) {
      const buffer = memory.buffer as unknown as SharedArrayBuffer;
      let at = 0;
      const take = (bytes: number, step = align16(bytes)): SharedRegion => {
        const region = { buffer, byteOffset: at, byteLength: bytes };
        at += step;
        return region;
      };
      const state = take(sizes.state);
      const gradients = Array.from({ length: sizes.replicas }, () => take(sizes.gradients, stride));
      return { memory, state, gradients, gradientStride: stride, slots: take(sizes.slots) };
    }
  }
  if (placement === 'memory')
    throw new Error(`allocateShared: ${total} bytes do not fit one shared WebAssembly memory here`);
  const own = (bytes: number): SharedRegion => ({
    buffer: new SharedArrayBuffer(bytes),
    byteOffset: 0,
    byteLength: bytes,
  });
  return {
    memory: null,
    state: own(sizes.state),
    gradients: Array.from({ length: sizes.replicas }, () => own(sizes.gradients)),
    gradientStride: 0,
    slots: own(sizes.slots),
  };
}

/** A shared memory of `pages`, or null where the runtime cannot give one (no threads, no address space). */
function tryMemory(pages: number): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null;
  }
}
