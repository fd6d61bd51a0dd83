import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { patchWasmKernels } from '@semseg/core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, expect } from 'vitest';

const require = createRequire(import.meta.url);
// The .wasm files ship inside the package: no network.
const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
setWasmPaths(`${wasmDir}/`);

/** The backends every numeric test runs on. */
export const BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof BACKENDS)[number];

export async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`backend ${name} did not initialise`);
  // What selectBackend installs on wasm (its in-place Slice), so that the tests run what users do.
  if (name === 'wasm') patchWasmKernels();
}

/** In a describe block: run on `backend`, and fail any test that leaves tensors behind. */
export function onBackendWithoutLeaks(backend: string): void {
  let baseline = 0;
  beforeAll(() => useBackend(backend));
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors).toBe(baseline);
  });
}
