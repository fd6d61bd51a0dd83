// Browser loaders for @semseg/core's selectBackend. Each backend package is imported lazily, so
// the page downloads only the backends it uses.
import type { BackendLoader } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  type AdapterFacts,
  type BackendChoice,
  adapterFacts,
  webglSkipReason,
  webgpuSkipReason,
} from './backend-choice.js';

/** Where the build puts tfjs-backend-wasm's binaries (copied from node_modules by vite.config.ts). */
export const WASM_DIRECTORY = 'tfjs-wasm/';

/** What the loaders learnt about the device, for the page and the size check. */
export interface DeviceFacts {
  webgpuAdapter?: AdapterFacts & { maxBufferSize: number; maxStorageBufferBindingSize: number };
  webglRenderer?: string;
  webglMaxTextureSize?: number;
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<
    | (Parameters<typeof adapterFacts>[0] & {
        limits: { maxBufferSize: number; maxStorageBufferBindingSize: number };
      })
    | null
  >;
}

function webglRenderer(facts: DeviceFacts): string | null {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2');
  if (!gl) return null;
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(
    debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
  );
  facts.webglMaxTextureSize = Number(gl.getParameter(gl.MAX_TEXTURE_SIZE));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return renderer;
}

/** The loaders for a choice: a backend named by the user is taken even when it runs in software. */
export function browserLoaders(choice: BackendChoice, facts: DeviceFacts): BackendLoader[] {
  return [
    {
      name: 'webgpu',
      load: async () => {
        // Once started, tfjs keeps its WebGPU device: switching back needs no new adapter (and
        // Chromium may not hand out a second one).
        if (tf.findBackend('webgpu')) return undefined;
        const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
        const adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
        const described = adapter ? adapterFacts(adapter) : null;
        if (adapter && described) {
          facts.webgpuAdapter = {
            ...described,
            maxBufferSize: adapter.limits.maxBufferSize,
            maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          };
        }
        const reason = webgpuSkipReason(Boolean(gpu), described, choice === 'webgpu');
        if (reason) return { unavailable: reason };
        await import('@tensorflow/tfjs-backend-webgpu');
        return undefined;
      },
    },
    {
      name: 'webgl',
      load: async () => {
        const renderer = webglRenderer(facts);
        if (renderer !== null) facts.webglRenderer = renderer;
        const reason = webglSkipReason(renderer, choice === 'webgl');
        if (reason) return { unavailable: reason };
        await import('@tensorflow/tfjs-backend-webgl');
        return undefined;
      },
    },
    {
      name: 'wasm',
      load: async () => {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        // The binaries are served by this app (no CDN): resolve them against the page.
        wasm.setWasmPaths(new URL(WASM_DIRECTORY, document.baseURI).href);
        return undefined;
      },
    },
    {
      name: 'cpu',
      load: async () => {
        await import('@tensorflow/tfjs-backend-cpu');
        return undefined;
      },
    },
  ];
}
