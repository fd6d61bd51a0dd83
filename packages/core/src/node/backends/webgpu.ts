import { existsSync } from 'node:fs';
import type { BackendLoader } from '../../backend.js';
import { type AdapterLike, type AdapterSummary, summarizeAdapter } from './adapter.js';
import { type NodeBackendOptions, resolveNodeBackendOptions } from './options.js';
import { probeWebGpuAdapter } from './webgpu-probe.js';

/** Chromium's SwiftShader Vulkan driver: the software adapter Dawn accepts on a machine without a GPU. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
export const DAWN_PACKAGE = 'webgpu';
export const WEBGPU_BACKEND_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/** The part of the `webgpu` package (Dawn's Node bindings) this loader uses. */
interface DawnModule {
  globals: object;
  create(flags: string[]): { requestAdapter(options: object): Promise<unknown> };
}

let lastAdapter: AdapterSummary | undefined;

/** The adapter found by the last WebGPU load in this process (for a `semseg info`-like report). */
export function lastWebGpuAdapter(): AdapterSummary | undefined {
  return lastAdapter;
}

export interface WebGpuLoaderOptions extends NodeBackendOptions {
  /** Chosen by name: a software (fallback) adapter is accepted, and SwiftShader is used when present. */
  explicit?: boolean;
}

/**
 * WebGPU in Node through Dawn (the `webgpu` package): a GPU route without CUDA (Vulkan, Metal,
 * D3D12). `auto` takes it only for a hardware adapter: a fallback (software) adapter such as
 * SwiftShader is far slower than wasm. Chosen by name, it also runs on SwiftShader, which it
 * points Vulkan at when VK_ICD_FILENAMES is unset and Chromium's driver is installed.
 */
export function webgpuLoader(options: WebGpuLoaderOptions = {}): BackendLoader {
  const explicit = options.explicit ?? false;
  const { importModule, chooseBy } = resolveNodeBackendOptions(options);
  const softwareOnly = (adapter: AdapterSummary) => ({
    unavailable: `only a software fallback adapter (${adapter.description}), slower than wasm; choose it with ${chooseBy('webgpu')}`,
  });
  const noAdapter = () => ({
    unavailable: `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`,
  });
  return {
    name: 'webgpu',
    load: async () => {
      if (explicit && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
        process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      }
      if (!explicit) {
        // auto looks first, in a child process, and only brings Dawn in for a hardware adapter.
        const probed = await probeWebGpuAdapter();
        if (probed === null) return noAdapter();
        if ('error' in probed) return { unavailable: probed.error };
        lastAdapter = probed;
        if (probed.isFallbackAdapter) return softwareOnly(probed);
      }
      const dawn = (await importModule(DAWN_PACKAGE)) as DawnModule;
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]);
      const adapter = (await gpu.requestAdapter({
        powerPreference: 'high-performance',
      })) as AdapterLike | null;
      if (!adapter) return noAdapter();
      lastAdapter = summarizeAdapter(adapter);
      if (lastAdapter.isFallbackAdapter && !explicit) return softwareOnly(lastAdapter);
      // tfjs' WebGPU backend asks navigator.gpu for its device (Node 20 has no navigator).
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      await importModule(WEBGPU_BACKEND_PACKAGE);
      return undefined;
    },
    installHint: existsSync(SWIFTSHADER_ICD)
      ? 'It needs a Vulkan, Metal or D3D12 driver (libvulkan1 and a GPU driver on Linux).'
      : `It needs a Vulkan, Metal or D3D12 driver; on Linux without a GPU, 'apt-get install chromium libvulkan1' gives SwiftShader (${SWIFTSHADER_ICD}).`,
  };
}
