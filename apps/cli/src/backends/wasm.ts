import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendLoader } from '@semseg/core';

/** The folder holding tfjs-backend-wasm's .wasm binaries, from node_modules (never the network). */
export function wasmBinaryFolder(): string {
  const require = createRequire(import.meta.url);
  return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
}

/** WebAssembly with SIMD, one thread under Node: the CPU default. */
export const wasmLoader: BackendLoader = {
  name: 'wasm',
  load: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmBinaryFolder());
  },
  installHint: "Reinstall the CLI's dependencies ('npm install @tensorflow/tfjs-backend-wasm@4.22.0').",
};

/** Plain JavaScript: slow, always there. */
export const cpuLoader: BackendLoader = {
  name: 'cpu',
  load: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
  },
};
