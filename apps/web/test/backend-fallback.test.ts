// The page's real loaders under core's selectBackend, with the browser parts (navigator.gpu, a
// WebGL canvas) faked: which backend auto ends on, and the reason it gives for each one it skips.
import { BackendError, selectBackend } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeviceFacts, browserLoaders } from '../src/backends.js';

const SWIFTSHADER_GL = 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)';

function fakeBrowser(options: {
  gpu: 'none' | 'no-adapter' | 'software';
  webglRenderer: string | null;
}): void {
  const adapter = {
    info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true },
    limits: { maxBufferSize: 268435456, maxStorageBufferBindingSize: 134217728 },
  };
  const gpu =
    options.gpu === 'none'
      ? undefined
      : { requestAdapter: async () => (options.gpu === 'software' ? adapter : null) };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const gl = {
    RENDERER: 1,
    MAX_TEXTURE_SIZE: 2,
    getExtension: (name: string) =>
      name === 'WEBGL_debug_renderer_info' ? { UNMASKED_RENDERER_WEBGL: 3 } : null,
    getParameter: (which: number) => (which === 2 ? 8192 : options.webglRenderer),
  };
  const document = {
    baseURI: 'http://127.0.0.1/',
    createElement: () => ({ getContext: () => (options.webglRenderer === null ? null : gl) }),
  };
  Object.defineProperty(globalThis, 'document', { value: document, configurable: true, writable: true });
}

describe('backend fallback in the page', () => {
  let baseline: string;
  beforeEach(async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    baseline = tf.getBackend();
  });
  afterEach(async () => {
    Reflect.deleteProperty(globalThis, 'document');
    Reflect.deleteProperty(globalThis, 'navigator');
    await tf.setBackend(baseline);
  });

  // wasm is left out (its binaries are fetched from the page's server); the fake says why.
  const withoutWasm = (choice: 'auto' | 'webgpu', facts: DeviceFacts) => [
    ...browserLoaders(choice, facts).filter((l) => l.name !== 'wasm'),
    { name: 'wasm', load: async () => ({ unavailable: 'no binaries in this test' }) },
  ];

  it('auto skips a software WebGPU adapter and a software WebGL renderer, with reasons, in order', async () => {
    fakeBrowser({ gpu: 'software', webglRenderer: SWIFTSHADER_GL });
    const facts: DeviceFacts = {};
    const selection = await selectBackend('auto', withoutWasm('auto', facts));
    expect(selection.name).toBe('cpu');
    expect(selection.skipped.map((s) => s.name)).toEqual(['node-gpu', 'webgpu', 'webgl', 'wasm']);
    expect(selection.skipped[1]!.reason).toBe(
      'only a software fallback adapter (google / swiftshader); pick WebGPU to use it anyway',
    );
    expect(selection.skipped[2]!.reason).toMatch(/^only a software renderer \(ANGLE .*SwiftShader/);
    expect(selection.skipped[3]!.reason).toBe('no binaries in this test');
    // What the loaders learnt feeds the size check and the page's backend line.
    expect(facts.webgpuAdapter?.maxBufferSize).toBe(268435456);
    expect(facts.webglMaxTextureSize).toBe(8192);
  });

  it('auto says when the browser has no WebGPU and no WebGL at all', async () => {
    fakeBrowser({ gpu: 'none', webglRenderer: null });
    const selection = await selectBackend('auto', withoutWasm('auto', {}));
    expect(selection.name).toBe('cpu');
    expect(selection.skipped.find((s) => s.name === 'webgpu')?.reason).toMatch(/navigator\.gpu is missing/);
    expect(selection.skipped.find((s) => s.name === 'webgl')?.reason).toMatch(/no WebGL2 context/);
  });

  it('a backend picked by name that cannot start is an error saying why, and the old backend stays', async () => {
    fakeBrowser({ gpu: 'no-adapter', webglRenderer: null });
    await expect(selectBackend('webgpu', withoutWasm('webgpu', {}))).rejects.toThrow(BackendError);
    await expect(selectBackend('webgpu', withoutWasm('webgpu', {}))).rejects.toThrow(
      "backend 'webgpu' cannot be used: the browser offers no WebGPU adapter",
    );
    expect(tf.getBackend()).toBe('cpu');
  });
});
