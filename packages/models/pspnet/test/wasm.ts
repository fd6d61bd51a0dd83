import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { patchWasmKernels } from '@semseg/core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

/** Activates the wasm backend with its binaries from node_modules (no network), as selectBackend does. */
export async function useWasm(): Promise<void> {
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
  await tf.setBackend('wasm');
  patchWasmKernels();
}
