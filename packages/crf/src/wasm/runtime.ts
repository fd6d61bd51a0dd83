// Compiling and instantiating the generated kernels, and whether this realm can at all.
import { encodeModule } from './encoder.js';
import { FunctionBuilder } from './encoder.js';
import { type KernelSet, kernelFunctions } from './kernels.js';
import { f32x4, local } from './ops.js';

/** 4 GiB, the most a 32-bit WebAssembly memory can address. */
export const maxPages = 65536;
export const pageBytes = 65536;

let simdSupport: boolean | undefined;

/**
 * Whether WebAssembly with fixed-width SIMD can be compiled here (Node 16.4+, Chrome 91+, Firefox
 * 89+, Safari 16.4+), and a Content-Security-Policy does not forbid compiling it.
 */
export function wasmSimdSupported(): boolean {
  if (simdSupport === undefined) {
    try {
      const f = new FunctionBuilder('probe');
      const v = f.param('v128');
      f.body = local.set(v, f32x4.add(local.get(v), local.get(v)));
      const bytes = encodeModule([f], { minimumPages: 0, shared: false });
      simdSupport =
        typeof WebAssembly === 'object' && new WebAssembly.Module(bytes) instanceof WebAssembly.Module;
    } catch {
      simdSupport = false;
    }
  }
  return simdSupport;
}

const cache = new Map<string, WebAssembly.Module>();
const pending = new Map<string, Promise<WebAssembly.Module | undefined>>();

/**
 * The module of `bytes` under `key`, compiled synchronously; undefined where the realm refuses (a
 * browser's main thread limits synchronous compiles to 4 KB; a Content-Security-Policy may forbid
 * WebAssembly). A refused compile is retried in the background, so later calls may find it ready.
 */
export function compileCached(
  key: string,
  bytes: () => Uint8Array<ArrayBuffer>,
): WebAssembly.Module | undefined {
  const ready = cache.get(key);
  if (ready) return ready;
  const source = bytes();
  try {
    const module = new WebAssembly.Module(source);
    cache.set(key, module);
    return module;
  } catch {
    void compileAsync(key, () => source);
    return undefined;
  }
}

/** Compiles in the background (allowed on a browser's main thread); resolves undefined if refused. */
export function compileAsync(
  key: string,
  bytes: () => Uint8Array<ArrayBuffer>,
): Promise<WebAssembly.Module | undefined> {
  const ready = cache.get(key);
  if (ready) return Promise.resolve(ready);
  let promise = pending.get(key);
  if (!promise) {
    promise = WebAssembly.compile(bytes()).then(
      (module) => {
        cache.set(key, module);
        return module;
      },
      () => undefined,
    );
    pending.set(key, promise);
  }
  return promise;
}

/** Thrown inside the engine when a kernel module cannot be compiled here (see compileCached). */
export class WasmUnavailableError extends Error {}

function cacheKey(spec: KernelSet, shared: boolean): string {
  const sorted = (list: readonly number[]) => [...list].sort((a, b) => a - b).join(',');
  return `${spec.labels}/${spec.groups}/${sorted(spec.dims)}/${sorted(spec.widths)}/${spec.fused?.join(',') ?? ''}/${shared}`;
}

function kernelBytes(spec: KernelSet, shared: boolean): () => Uint8Array<ArrayBuffer> {
  return () =>
    encodeModule(kernelFunctions(spec), {
      minimumPages: 0,
      maximumPages: shared ? maxPages : undefined,
      shared,
    });
}

/** The compiled module of a kernel set (cached: one compile per label count and kernel shapes). */
export function kernelModule(spec: KernelSet, shared: boolean): WebAssembly.Module {
  const module = compileCached(cacheKey(spec, shared), kernelBytes(spec, shared));
  if (!module) throw new WasmUnavailableError('the mean-field kernels cannot be compiled here');
  return module;
}

/** Compiles a kernel set in the background (see prepareWasm). */
export function kernelModuleAsync(spec: KernelSet, shared: boolean): Promise<WebAssembly.Module | undefined> {
  return compileAsync(cacheKey(spec, shared), kernelBytes(spec, shared));
}

/** A kernel: every parameter is an i32 byte address or count, except slice's f32 scale. */
export type Kernel = (...args: number[]) => void;

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Record<string, Kernel> {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as Record<string, Kernel>;
}

/** Bump allocation of 16-byte aligned regions, laid out before the memory is created. */
export class Layout {
  private top = 16;

  /** A region of `bytes` bytes; returns its byte address. */
  reserve(bytes: number): number {
    const at = this.top;
    // 16 bytes of slack: row kernels may read a vector past a region's last row.
    this.top += Math.ceil(bytes / 16) * 16 + 16;
    return at;
  }

  get bytes(): number {
    return this.top;
  }

  get pages(): number {
    return Math.ceil(this.top / pageBytes);
  }
}

// Memories of finished inferences and lattice builds, kept for the next one: a fresh memory costs
// its page faults on first touch (about 0.5 ms per MiB here, a tenth of a 500x375 inference).
const spare: WebAssembly.Memory[] = [];
/** Shared memories (threads) have a fixed maximum: reused only when large enough. */
const spareShared: WebAssembly.Memory[] = [];
const maxSpare = 2;
const maxSpareBytes = 1024 * 2 ** 20;

/** Removes and returns the smallest memory of `list` with at least `pages` pages, if any. */
function takeSmallestFitting(list: WebAssembly.Memory[], pages: number): WebAssembly.Memory | undefined {
  let best = -1;
  for (let i = 0; i < list.length; i++) {
    const bytes = list[i].buffer.byteLength;
    if (bytes >= pages * pageBytes && (best < 0 || bytes < list[best].buffer.byteLength)) best = i;
  }
  return best >= 0 ? list.splice(best, 1)[0] : undefined;
}

/** A non-shared memory of at least `pages` pages, reused when one is spare. Contents are stale. */
export function acquireMemory(pages: number): WebAssembly.Memory {
  const fitting = takeSmallestFitting(spare, pages);
  if (fitting) return fitting;
  const memory = spare.pop();
  if (memory) {
    memory.grow(pages - memory.buffer.byteLength / pageBytes);
    return memory;
  }
  return new WebAssembly.Memory({ initial: pages });
}

/** A shared memory (for worker threads) of at least `pages` pages, reused when one is spare. */
export function acquireSharedMemory(pages: number): WebAssembly.Memory {
  return (
    takeSmallestFitting(spareShared, pages) ??
    new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
  );
}

/** Returns a memory for reuse; nothing may use it afterwards. */
export function releaseMemory(memory: WebAssembly.Memory): void {
  if (memory.buffer.byteLength > maxSpareBytes) return;
  const list = memory.buffer instanceof ArrayBuffer ? spare : spareShared;
  list.push(memory);
  while (list.length > maxSpare) list.shift();
}

/** Drops the spare memories kept for reuse (they are collected with the rest of the heap). */
export function releaseSpareMemory(): void {
  spare.length = 0;
  spareShared.length = 0;
}
