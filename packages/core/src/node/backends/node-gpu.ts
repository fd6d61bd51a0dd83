import type { BackendLoader } from '../../backend.js';
import { type NodeBackendOptions, resolveNodeBackendOptions } from './options.js';

// tfjs-node-gpu 4.22 runs libtensorflow 2.9.1, built against CUDA 11.2 and cuDNN 8.1 (the
// tfjs-node README and the maintainers' answer in tensorflow/tfjs#8362).
export const NODE_GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
export const NODE_GPU_REQUIREMENTS =
  'Linux x64, an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1 on the library path';

/**
 * Native TensorFlow with CUDA (`@tensorflow/tfjs-node-gpu`, an optional dependency of the app):
 * only imported when chosen or tried by `auto`. Not installed, or installed without a working
 * native binding, it is unavailable with the reason, never a crash.
 */
export function nodeGpuLoader(options: NodeBackendOptions = {}): BackendLoader {
  const { importModule, chooseBy } = resolveNodeBackendOptions(options);
  return {
    name: 'node-gpu',
    tfjsName: 'tensorflow',
    load: async () => {
      try {
        await importModule(NODE_GPU_PACKAGE);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
          const missing = /Cannot find (?:package|module) '([^']+)'/.exec(
            String((error as Error).message),
          )?.[1];
          if (missing === NODE_GPU_PACKAGE || missing === undefined || !missing.includes('tfjs_binding')) {
            return { unavailable: `package '${NODE_GPU_PACKAGE}' is not installed` };
          }
        }
        const first = String((error as Error).message ?? error).split('\n')[0];
        return { unavailable: `'${NODE_GPU_PACKAGE}' is installed but cannot start (${first})` };
      }
      return undefined;
    },
    installHint: `Install it with 'npm install ${NODE_GPU_PACKAGE}@4.22.0' (needs ${NODE_GPU_REQUIREMENTS}; its install downloads libtensorflow), or use ${chooseBy('wasm')}.`,
  };
}
