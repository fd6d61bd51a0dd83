import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

/** Chromium's SwiftShader Vulkan driver: the adapter Dawn accepts on a machine without a GPU. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * Sets up tfjs's WebGPU backend on Dawn (the `webgpu` package). Returns null when ready, or why it
 * is not available on this machine.
 */
export async function setUpWebGpu(): Promise<string | null> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD))
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      return `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}; install chromium for SwiftShader's ${SWIFTSHADER_ICD} and libvulkan1)`;
    }
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu')
      return 'tfjs could not initialise its webgpu backend';
    return null;
  } catch (error) {
    return `WebGPU set-up failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}
