import { describe, expect, it } from 'vitest';
import {
  adapterFacts,
  describeSelection,
  initialBackendChoice,
  webglSkipReason,
  webgpuSkipReason,
} from '../src/backend-choice.js';

describe('backend choice', () => {
  it('starts from ?backend= when it names a backend, else auto', () => {
    expect(initialBackendChoice('?backend=webgpu')).toBe('webgpu');
    expect(initialBackendChoice('?backend=wasm&x=1')).toBe('wasm');
    expect(initialBackendChoice('?backend=tensorflow')).toBe('auto');
    expect(initialBackendChoice('')).toBe('auto');
  });

  it('reads adapter info, new and old style', () => {
    expect(
      adapterFacts({ info: { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true } }),
    ).toEqual({
      description: 'google / swiftshader',
      isFallbackAdapter: true,
    });
    expect(adapterFacts({ isFallbackAdapter: false })).toEqual({
      description: 'unnamed adapter',
      isFallbackAdapter: false,
    });
  });

  it('auto passes over WebGPU without navigator.gpu, without an adapter, or with a software one', () => {
    expect(webgpuSkipReason(false, null, false)).toMatch(/navigator\.gpu is missing/);
    expect(webgpuSkipReason(true, null, false)).toMatch(/no WebGPU adapter/);
    const software = { description: 'google / swiftshader', isFallbackAdapter: true };
    expect(webgpuSkipReason(true, software, false)).toBe(
      'only a software fallback adapter (google / swiftshader); pick WebGPU to use it anyway',
    );
    // Picked by name, the software adapter is used; a hardware one always is.
    expect(webgpuSkipReason(true, software, true)).toBeNull();
    expect(webgpuSkipReason(true, { description: 'nvidia', isFallbackAdapter: false }, false)).toBeNull();
  });

  it('auto passes over WebGL without a context or on a software renderer', () => {
    const swiftshader = 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)';
    expect(webglSkipReason(null, false)).toMatch(/no WebGL2 context/);
    expect(webglSkipReason(null, true)).toMatch(/no WebGL2 context/);
    expect(webglSkipReason(swiftshader, false)).toMatch(/^only a software renderer/);
    expect(webglSkipReason(swiftshader, true)).toBeNull();
    expect(webglSkipReason('llvmpipe (LLVM 15.0.6, 256 bits)', false)).toMatch(/software renderer/);
    expect(webglSkipReason('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11)', false)).toBeNull();
  });

  it('describes the active backend and every fallback', () => {
    const described = describeSelection('auto', 'wasm', [
      { name: 'node-gpu', reason: 'not offered in this environment' },
      { name: 'webgpu', reason: 'only a software fallback adapter (x)' },
      { name: 'webgl', reason: 'only a software renderer (y)' },
    ]);
    expect(described.active).toBe('WebAssembly (wasm), chosen by auto');
    // node-gpu is a Node backend: not worth a line in the page.
    expect(described.fallbacks).toEqual([
      'WebGPU skipped: only a software fallback adapter (x)',
      'WebGL skipped: only a software renderer (y)',
    ]);
    expect(describeSelection('webgpu', 'webgpu', [], 'google / swiftshader').active).toBe(
      'WebGPU (google / swiftshader), chosen by you',
    );
  });
});
