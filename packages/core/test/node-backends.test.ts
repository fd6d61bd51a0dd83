import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NODE_BACKENDS,
  NODE_GPU_PACKAGE,
  nodeBackendLoaders,
  nodeGpuLoader,
  summarizeAdapter,
  useNodeBackend,
  wasmBinaryFolder,
  wasmLoader,
} from '../src/node/index.js';

/** An import that fails as Node's does for a package that is not there. */
function missing(specifier: string): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}' imported from /app/index.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

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
  it('reports a missing package as unavailable, with what to install and how to pick another', async () => {
    const loader = nodeGpuLoader({
      importModule: async (specifier) => {
        throw missing(specifier);
      },
      chooseBy: (backend) => `--backend ${backend}`,
    });
    await expect(loader.load()).resolves.toEqual({
      unavailable: `package '${NODE_GPU_PACKAGE}' is not installed`,
    });
    expect(loader.installHint).toMatch(
      /npm install @tensorflow\/tfjs-node-gpu@4\.22\.0.*CUDA 11\.2 and cuDNN 8\.1.*or use --backend wasm\.$/,
    );
  });

  it('tells an installed package without a working native binding from a missing one', async () => {
    const loader = nodeGpuLoader({
      importModule: async () => {
        throw missing('/app/node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node');
      },
    });
    const result = (await loader.load()) as { unavailable: string };
    expect(result.unavailable).toMatch(
      /^'@tensorflow\/tfjs-node-gpu' is installed but cannot start \(Cannot find/,
    );
  });

  it.skipIf(existsSync(join(process.cwd(), '..', '..', 'node_modules', NODE_GPU_PACKAGE)))(
    'is skipped by auto where the optional package is not installed',
    async () => {
      await expect(nodeGpuLoader().load()).resolves.toEqual({
        unavailable: `package '${NODE_GPU_PACKAGE}' is not installed`,
      });
    },
  );
});

describe('wasm', () => {
  it('loads its binaries from node_modules', () => {
    const folder = wasmBinaryFolder();
    expect(folder.endsWith('/')).toBe(true);
    expect(existsSync(`${folder}tfjs-backend-wasm-simd.wasm`)).toBe(true);
  });

  it('imports the backend through the given importer and points it at the binaries', async () => {
    const paths: string[] = [];
    const loader = wasmLoader({
      importModule: async (specifier) => {
        expect(specifier).toBe('@tensorflow/tfjs-backend-wasm');
        return { setWasmPaths: (prefix: string) => paths.push(prefix) };
      },
      wasmPaths: '/somewhere/',
    });
    await loader.load();
    expect(paths).toEqual(['/somewhere/']);
  });
});

describe('nodeBackendLoaders', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('offers node-gpu, webgpu, wasm and cpu, and needs none of their packages as a dependency of core', () => {
    expect(nodeBackendLoaders().map((l) => l.name)).toEqual([...NODE_BACKENDS]);
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    const required = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    expect(required.filter((name) => /tfjs-backend|tfjs-node|^webgpu$/.test(name))).toEqual([]);
  });

  it('activates a backend named by the caller', async () => {
    const selection = await useNodeBackend('cpu');
    expect(selection).toEqual({ name: 'cpu', tfjsName: 'cpu', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('lets auto skip what is not installed, saying why, and take the next one', async () => {
    const importModule = async (specifier: string): Promise<unknown> => {
      if (specifier === '@tensorflow/tfjs-backend-cpu') return import('@tensorflow/tfjs-backend-cpu');
      throw missing(specifier);
    };
    const selection = await useNodeBackend('auto', { importModule });
    expect(selection.name).toBe('cpu');
    const reasons = Object.fromEntries(selection.skipped.map((s) => [s.name, s.reason]));
    expect(reasons['node-gpu']).toBe(`package '${NODE_GPU_PACKAGE}' is not installed`);
    expect(reasons.wasm).toBe("package '@tensorflow/tfjs-backend-wasm' is not installed");
    expect(reasons.webgl).toBe('not offered in this environment');
    expect(reasons.webgpu).toBeDefined();
  });
});
