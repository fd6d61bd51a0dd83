import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_GPU_PACKAGE, nodeGpuLoader } from '../src/backends/node-gpu.js';
import { wasmBinaryFolder } from '../src/backends/wasm.js';
import { summarizeAdapter } from '../src/backends/webgpu.js';

describe('WebGPU adapters', () => {
  it('reads isFallbackAdapter from adapter.info, or from the adapter in older implementations', () => {
    const swiftshader = {
      info: {
        vendor: 'google',
        architecture: 'swiftshader',
        description: 'SwiftShader driver',
        isFallbackAdapter: true,
      },
    };
    expect(summarizeAdapter(swiftshader)).toEqual({
      description: 'google / swiftshader / SwiftShader driver',
      isFallbackAdapter: true,
    });
    expect(summarizeAdapter({ info: { vendor: 'nvidia', architecture: 'ampere' } })).toEqual({
      description: 'nvidia / ampere',
      isFallbackAdapter: false,
    });
    expect(summarizeAdapter({ isFallbackAdapter: true })).toEqual({
      description: 'unnamed adapter',
      isFallbackAdapter: true,
    });
  });
});

describe('node-gpu', () => {
  it.skipIf(existsSync(join(process.cwd(), '..', '..', 'node_modules', NODE_GPU_PACKAGE)))(
    'reports a missing package as unavailable rather than throwing',
    async () => {
      await expect(nodeGpuLoader.load()).resolves.toEqual({
        unavailable: `package '${NODE_GPU_PACKAGE}' is not installed`,
      });
      expect(nodeGpuLoader.installHint).toMatch(
        /npm install @tensorflow\/tfjs-node-gpu@4\.22\.0.*CUDA 11\.2 and cuDNN 8\.1/,
      );
    },
  );
});

describe('wasm', () => {
  it('loads its binaries from node_modules', () => {
    const folder = wasmBinaryFolder();
    expect(folder.endsWith('/')).toBe(true);
    expect(existsSync(`${folder}tfjs-backend-wasm-simd.wasm`)).toBe(true);
  });
});
