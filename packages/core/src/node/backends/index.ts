import {
  type BackendLoader,
  type BackendPreference,
  type BackendSelection,
  selectBackend,
} from '../../backend.js';
import { nodeGpuLoader } from './node-gpu.js';
import type { NodeBackendOptions } from './options.js';
import { cpuLoader, wasmLoader } from './wasm.js';
import { webgpuLoader } from './webgpu.js';

/** The backends a Node process can load, in `auto`'s order. */
export const NODE_BACKENDS = ['node-gpu', 'webgpu', 'wasm', 'cpu'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

/**
 * The Node loaders: node-gpu (optional package), WebGPU through Dawn, wasm and cpu. None of their
 * packages is a dependency of @semseg/core: each is imported when tried, and one that is not
 * installed is skipped by `auto` with the reason. `webgpu` accepts a software adapter only when
 * `preference` names it.
 */
export function nodeBackendLoaders(
  preference: BackendPreference = 'auto',
  options: NodeBackendOptions = {},
): BackendLoader[] {
  return [
    nodeGpuLoader(options),
    webgpuLoader({ ...options, explicit: preference === 'webgpu' }),
    wasmLoader(options),
    cpuLoader(options),
  ];
}

/** Activates the chosen backend (or the best one `auto` finds) in this Node process. */
export function useNodeBackend(
  preference: BackendPreference = 'auto',
  options: NodeBackendOptions = {},
): Promise<BackendSelection> {
  return selectBackend(preference, nodeBackendLoaders(preference, options));
}
