import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError, type BackendLoader, describeLoadError, selectBackend } from '../src/index.js';

const require = createRequire(import.meta.url);

const cpuLoader: BackendLoader = {
  name: 'cpu',
  load: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
  },
};

const wasmLoader: BackendLoader = {
  name: 'wasm',
  load: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries ship inside the package: point tfjs at them, no network.
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${dist}/`);
  },
};

// Fails exactly as a missing optional dependency does: the import itself throws MODULE_NOT_FOUND.
const nodeGpuLoader: BackendLoader = {
  name: 'node-gpu',
  tfjsName: 'tensorflow',
  installHint: 'Install @tensorflow/tfjs-node-gpu (needs CUDA 11.2 and cuDNN 8.1) or pick --backend wasm.',
  load: async () => {
    const name = '@tensorflow/tfjs-node-gpu';
    await import(/* @vite-ignore */ name);
  },
};

// A browser-only backend in Node: the loader reports why it does not apply.
const webglLoader: BackendLoader = {
  name: 'webgl',
  load: async () => ({ unavailable: 'WebGL needs a browser' }),
};

// A loader whose backend registers but fails to initialise.
const brokenLoader: BackendLoader = {
  name: 'webgpu',
  load: async () => {
    tf.registerBackend('webgpu', () => {
      throw new Error('no adapter');
    });
  },
};

afterAll(() => {
  tf.removeBackend('webgpu');
});

describe('selectBackend', () => {
  it('auto skips what cannot load, says why, and lands on wasm', async () => {
    const selection = await selectBackend('auto', [
      cpuLoader,
      wasmLoader,
      nodeGpuLoader,
      webglLoader,
      brokenLoader,
    ]);
    expect(selection.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(selection.skipped.map((s) => s.name)).toEqual(['node-gpu', 'webgpu', 'webgl']);
    expect(selection.skipped[0]!.reason).toBe("package '@tensorflow/tfjs-node-gpu' is not installed");
    expect(selection.skipped[1]!.reason).toMatch(/initialisation failed/);
    expect(selection.skipped[2]!.reason).toBe('WebGL needs a browser');
    const t = tf.tensor1d([1, 2, 3]);
    expect(Array.from(await tf.sum(t).data())).toEqual([6]);
    t.dispose();
  });

  it('auto reports backends the app offers no loader for', async () => {
    const selection = await selectBackend('auto', [cpuLoader]);
    expect(selection).toEqual({
      name: 'cpu',
      tfjsName: 'cpu',
      skipped: [
        { name: 'node-gpu', reason: 'not offered in this environment' },
        { name: 'webgpu', reason: 'not offered in this environment' },
        { name: 'webgl', reason: 'not offered in this environment' },
        { name: 'wasm', reason: 'not offered in this environment' },
      ],
    });
  });

  it('a named backend that cannot load is an error saying why and what to install', async () => {
    await selectBackend('cpu', [cpuLoader]);
    const error = await selectBackend('node-gpu', [cpuLoader, nodeGpuLoader]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toBe(
      "backend 'node-gpu' cannot be used: package '@tensorflow/tfjs-node-gpu' is not installed. Install @tensorflow/tfjs-node-gpu (needs CUDA 11.2 and cuDNN 8.1) or pick --backend wasm.",
    );
    // The previously active backend is still the one in use.
    expect(tf.getBackend()).toBe('cpu');
  });

  it('names each backend explicitly', async () => {
    expect((await selectBackend('wasm', [cpuLoader, wasmLoader])).name).toBe('wasm');
    expect((await selectBackend('cpu', [cpuLoader, wasmLoader])).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an unknown name and lists what is offered', async () => {
    await expect(selectBackend('tpu', [cpuLoader, wasmLoader])).rejects.toThrow(
      "unknown backend 'tpu'; this app offers: auto, cpu, wasm",
    );
  });

  it('fails with every reason when nothing loads', async () => {
    await expect(selectBackend('auto', [nodeGpuLoader, webglLoader])).rejects.toThrow(
      /no backend could be loaded \(node-gpu: package '@tensorflow\/tfjs-node-gpu' is not installed; webgpu: not offered/,
    );
  });
});

describe('describeLoadError', () => {
  it('explains CommonJS and ESM module-not-found errors and keeps other messages to one line', () => {
    const cjs = Object.assign(new Error("Cannot find module 'x-gpu'\nRequire stack:\n- a.js"), {
      code: 'MODULE_NOT_FOUND',
    });
    expect(describeLoadError(cjs)).toBe("package 'x-gpu' is not installed");
    const esm = Object.assign(new Error("Cannot find package 'y' imported from /z.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(describeLoadError(esm)).toBe("package 'y' is not installed");
    expect(describeLoadError(new Error('libcudart.so.11.0: cannot open shared object file\nat ...'))).toBe(
      'libcudart.so.11.0: cannot open shared object file',
    );
  });
});
