import { InputError } from '../errors.js';
import { latticeModuleAsync } from './lattice-builder.js';
import { kernelModuleAsync, wasmSimdSupported } from './runtime.js';

export interface PrepareWasmOptions {
  /** Label count of the CRFs to come. */
  labels: number;
  /** Feature dimensions of their kernels; default [2, 5], DenseCRF2D's Gaussian and bilateral. */
  dims?: readonly number[];
}

/**
 * Compiles the WebAssembly kernels for CRFs of `labels` labels in the background, so that CRFs
 * created afterwards on a browser's main thread run on them (browsers limit synchronous compiles
 * there to 4 KB; without this such CRFs use the 'js' engine). Node and Web Workers need not call it.
 * Resolves whether the kernels are ready.
 */
export async function prepareWasm(options: PrepareWasmOptions): Promise<boolean> {
  const { labels, dims = [2, 5] } = options;
  if (!Number.isInteger(labels) || labels < 2 || labels > 256) {
    throw new InputError('labels', `must be an integer from 2 to 256, got ${labels}`);
  }
  if (!wasmSimdSupported()) return false;
  const groups = Math.ceil(labels / 4);
  const modules = await Promise.all([
    kernelModuleAsync({ labels, groups, dims: [...new Set(dims)], widths: [groups] }, false),
    ...[...new Set(dims)].map((d) => latticeModuleAsync(d)),
  ]);
  return modules.every((module) => module !== undefined);
}
