import { type BackendLoader, type BackendSelection, selectBackend } from '@semseg/core';
import { nodeGpuLoader } from './node-gpu.js';
import { cpuLoader, wasmLoader } from './wasm.js';
import { webgpuLoader } from './webgpu.js';

export const BACKEND_CHOICES = ['auto', 'node-gpu', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The loaders this app offers; `webgpu` accepts a software adapter only when asked for by name. */
export function backendLoaders(preference: BackendChoice): BackendLoader[] {
  return [nodeGpuLoader, webgpuLoader({ explicit: preference === 'webgpu' }), wasmLoader, cpuLoader];
}

/** Activates the chosen backend (or the best one `auto` finds) for tfjs. */
export function useBackend(preference: BackendChoice): Promise<BackendSelection> {
  return selectBackend(preference, backendLoaders(preference));
}
