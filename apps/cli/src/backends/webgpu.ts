import { existsSync } from 'node:fs';
import type { BackendLoader } from '@semseg/core';
import { probeWebGpuAdapter } from './webgpu-probe.js';

/** Chromium's SwiftShader Vulkan driver: the software adapter Dawn accepts on a machine without a GPU. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface AdapterSummary {
  description: string;
  isFallbackAdapter: boolean;
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

/** What the adapter says about itself (`info.isFallbackAdapter`, or the older `isFallbackAdapter`). */
export function summarizeAdapter(adapter: AdapterLike): AdapterSummary {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.description].filter((p) => p && p.length > 0);
  return {
    description: parts.length > 0 ? parts.join(' / ') : 'unnamed adapter',
    isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
}

/** The adapter found by the last WebGPU load, for `semseg info`. */
export let lastWebGpuAdapter: AdapterSummary | undefined;

/**
 * WebGPU in Node through Dawn (the `webgpu` package): a GPU route without CUDA (Vulkan, Metal,
 * D3D12). `auto` takes it only for a hardware adapter: a fallback (software) adapter such as
 * SwiftShader is far slower than wasm. Chosen by name, it also runs on SwiftShader, which it
 * points Vulkan at when VK_ICD_FILENAMES is unset and Chromium's driver is installed.
 */
export function webgpuLoader(options: { explicit: boolean }): BackendLoader {
  return {
    name: 'webgpu',
    load: async () => {
      if (options.explicit && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
        process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      }
      if (!options.explicit) {
        // auto looks first, in a child process, and only brings Dawn in for a hardware adapter.
        const probed = await probeWebGpuAdapter();
        if (probed === null) {
          return {
            unavailable: `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`,
          };
        }
        if ('error' in probed) return { unavailable: probed.error };
        lastWebGpuAdapter = probed;
        if (probed.isFallbackAdapter) {
          return {
            unavailable: `only a software fallback adapter (${probed.description}), slower than wasm; choose it with --backend webgpu`,
          };
        }
      }
      const dawn = await import('webgpu');
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]);
      const adapter = (await gpu.requestAdapter({
        powerPreference: 'high-performance',
      })) as AdapterLike | null;
      if (!adapter) {
        const icd = process.env.VK_ICD_FILENAMES ?? 'unset';
        return { unavailable: `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${icd})` };
      }
      lastWebGpuAdapter = summarizeAdapter(adapter);
      if (lastWebGpuAdapter.isFallbackAdapter && !options.explicit) {
        return {
          unavailable: `only a software fallback adapter (${lastWebGpuAdapter.description}), slower than wasm; choose it with --backend webgpu`,
        };
      }
      // tfjs' WebGPU backend asks navigator.gpu for its device (Node 20 has no navigator).
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
      await import('@tensorflow/tfjs-backend-webgpu');
      return undefined;
    },
    installHint: existsSync(SWIFTSHADER_ICD)
      ? 'It needs a Vulkan, Metal or D3D12 driver (libvulkan1 and a GPU driver on Linux).'
      : `It needs a Vulkan, Metal or D3D12 driver; on Linux without a GPU, 'apt-get install chromium libvulkan1' gives SwiftShader (${SWIFTSHADER_ICD}).`,
  };
}
