// Starts a tfjs backend inside the fine-tune worker: WebGPU (navigator.gpu exists in dedicated
// workers in Chromium), wasm (binaries from the page's own server) and cpu; WebGL only where
// the worker has OffscreenCanvas. A reason string when it cannot: the page then trains itself.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendRequest } from './protocol.js';

export async function startWorkerBackend(request: BackendRequest): Promise<string | null> {
  try {
    if (request.name === 'webgpu') {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      if (!gpu) return 'this browser has no WebGPU in workers';
      await import('@tensorflow/tfjs-backend-webgpu');
    } else if (request.name === 'webgl') {
      if (typeof OffscreenCanvas === 'undefined') return 'WebGL in a worker needs OffscreenCanvas';
      await import('@tensorflow/tfjs-backend-webgl');
    } else if (request.name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(request.wasmDirectory);
    } else if (request.name === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
    } else {
      return `no worker loader for the ${request.name} backend`;
    }
    if (!(await tf.setBackend(request.name))) return `the ${request.name} backend did not start in a worker`;
    await tf.ready();
    return null;
  } catch (error) {
    return `the ${request.name} backend failed in a worker (${error instanceof Error ? error.message : String(error)})`;
  }
}
