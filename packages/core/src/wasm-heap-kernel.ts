import { type FunctionBuilder, encodeModule } from '@semseg/crf/wasm-writer';
import type { HeapBackend } from './wasm-kernels.js';

/** tfjs-backend-wasm's backend as our heap kernels see it. */
export interface ModuleBackend extends HeapBackend {
  /** The Emscripten module: its exports hold the heap's WebAssembly.Memory. */
  wasm?: { asm?: { memory?: WebAssembly.Memory } };
}

/** The backend's heap, or null when it is not a wasm backend we can reach into. */
export function heapOf(backend: unknown): WebAssembly.Memory | null {
  const memory = (backend as ModuleBackend).wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/**
 * A kernel written at run time and instantiated over tfjs's heap: `kernelFor(memory)` compiles
 * the module once for unshared and once for shared heaps (tfjs's threaded build in a browser),
 * instantiates it once per heap (one wasm backend per thread), and gives null where it cannot
 * run (no WebAssembly SIMD or bulk memory, a heap the module cannot import).
 */
export function heapKernel<K>(
  build: () => FunctionBuilder,
  exportName: string,
): (memory: WebAssembly.Memory) => K | null {
  const compiled = new Map<boolean, WebAssembly.Module>();
  const instances = new WeakMap<WebAssembly.Memory, K | null>();
  return (memory) => {
    let kernel = instances.get(memory);
    if (kernel === undefined) {
      try {
        const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
        let module = compiled.get(shared);
        if (!module) {
          // Unshared: no maximum, any size is accepted. Shared memory must declare one: wasm32's 4 GiB.
          const limits = shared
            ? { minimumPages: 0, maximumPages: 65536, shared }
            : { minimumPages: 0, shared };
          module = new WebAssembly.Module(encodeModule([build()], limits));
          compiled.set(shared, module);
        }
        kernel = new WebAssembly.Instance(module, { env: { memory } }).exports[exportName] as K;
      } catch {
        kernel = null;
      }
      instances.set(memory, kernel);
    }
    return kernel;
  };
}
