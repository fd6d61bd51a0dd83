import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendLoader } from '../../backend.js';
import { type NodeBackendOptions, resolveNodeBackendOptions } from './options.js';

export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
export const CPU_PACKAGE = '@tensorflow/tfjs-backend-cpu';

/** The folder holding tfjs-backend-wasm's .wasm binaries, from node_modules (never the network). */
export function wasmBinaryFolder(): string {
  const require = createRequire(import.meta.url);
  return `${join(dirname(require.resolve(`${WASM_PACKAGE}/package.json`)), 'dist')}/`;
}

interface WasmBackendModule {
  setWasmPaths(prefix: string): void;
}

/** WebAssembly with SIMD, one thread under Node: the CPU default. */
export function wasmLoader(options: NodeBackendOptions = {}): BackendLoader {
  const { importModule, wasmPaths } = resolveNodeBackendOptions(options);
  return {
    name: 'wasm',
    load: async () => {
      const wasm = (await importModule(WASM_PACKAGE)) as WasmBackendModule;
      wasm.setWasmPaths(wasmPaths ?? wasmBinaryFolder());
    },
    installHint: `Install the app's dependencies ('npm install ${WASM_PACKAGE}@4.22.0').`,
  };
}

/** Plain JavaScript: slow, always there. */
export function cpuLoader(options: NodeBackendOptions = {}): BackendLoader {
  const { importModule } = resolveNodeBackendOptions(options);
  return {
    name: 'cpu',
    load: async () => {
      await importModule(CPU_PACKAGE);
    },
    installHint: `Install the app's dependencies ('npm install ${CPU_PACKAGE}@4.22.0').`,
  };
}
