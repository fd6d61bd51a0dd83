import { useNodeBackend } from '@semseg/core/node';

/** Activates the wasm backend as an app does (core's loader: binaries from node_modules, its kernels). */
export async function useWasm(): Promise<void> {
  await useNodeBackend('wasm');
}
