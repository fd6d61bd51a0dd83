// Compiling and instantiating the generated kernels, and whether this realm can at all.
import { encodeModule } from './encoder.js';
import { type KernelSet, kernelFunctions } from './kernels.js';
import { f32x4, local } from './ops.js';
import { FunctionBuilder } from './encoder.js';

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
      simdSupport = typeof WebAssembly === 'object' && new WebAssembly.Module(bytes) instanceof WebAssembly.Module;
    } catch {
      simdSupport = false;
    }
  }
  return simdSupport;
}

const cache = new Map<string, WebAssembly.Module>();

function cacheKey(spec: KernelSet, shared: boolean): string {
  return `${spec.labels}/${spec.groups}/${[...spec.dims].sort().join(',')}/${[...spec.widths].sort().join(',')}/${shared}`;
}

/** The compiled module of a kernel set (cached: one compile per label count and kernel shapes). */
export function kernelModule(spec: KernelSet, shared: boolean): WebAssembly.Module {
  const key = cacheKey(spec, shared);
  let module = cache.get(key);
  if (!module) {
    const bytes = encodeModule(kernelFunctions(spec), {
      minimumPages: 0,
      maximumPages: shared ? maxPages : undefined,
      shared,
    });
    module = new WebAssembly.Module(bytes);
    cache.set(key, module);
  }
  return module;
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
