// "Too large for this device", decided before any tensor is made: a checkpoint whose weights
// cannot fit is refused with the numbers, rather than failing deep inside a GPU allocation.
import { type CheckpointJson, manifestByteLength } from '@semseg/core';
import type { DeviceFacts } from './backends.js';

export interface DeviceBudget {
  /** Bytes of weights the page accepts on this device. */
  totalBytes: number;
  /** The largest single tensor a buffer can hold (WebGPU's maxBufferSize), when known. */
  largestTensorBytes?: number;
  /** What the budget rests on, for the message. */
  basis: string;
}

const GB = 1024 ** 3;

/**
 * The budget: a quarter of the device memory the browser reports (navigator.deviceMemory, which
 * browsers cap at 8 GB; 4 GB assumed when unknown) for the weights, which leaves room for
 * activations, and on WebGPU the adapter's buffer limits for single tensors.
 */
export function deviceBudget(
  deviceMemoryGb: number | undefined,
  backend: string,
  facts: DeviceFacts,
): DeviceBudget {
  const memory = deviceMemoryGb && deviceMemoryGb > 0 ? deviceMemoryGb : 4;
  const budget: DeviceBudget = {
    totalBytes: Math.floor((memory * GB) / 4),
    basis: `a quarter of ${memory} GB device memory${deviceMemoryGb ? '' : ' (assumed)'}`,
  };
  if (backend === 'webgpu' && facts.webgpuAdapter) {
    budget.largestTensorBytes = Math.min(
      facts.webgpuAdapter.maxBufferSize,
      facts.webgpuAdapter.maxStorageBufferBindingSize,
    );
  }
  return budget;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Null when weights of `totalBytes` (float32), whose largest tensor is `largest`, fit the budget;
 * else the message saying what does not fit.
 */
export function weightsTooLarge(
  totalBytes: number,
  largest: { name: string; bytes: number } | null,
  budget: DeviceBudget,
): string | null {
  if (totalBytes > budget.totalBytes) {
    return `the model needs ${megabytes(totalBytes)} of weights, more than this device allows (${megabytes(budget.totalBytes)}, ${budget.basis})`;
  }
  if (budget.largestTensorBytes !== undefined && largest && largest.bytes > budget.largestTensorBytes) {
    return `tensor ${largest.name} (${megabytes(largest.bytes)}) exceeds the GPU's largest buffer (${megabytes(budget.largestTensorBytes)}); try wasm`;
  }
  return null;
}

/** Null when the checkpoint fits, else the message saying what does not fit. */
export function checkpointTooLarge(json: CheckpointJson, budget: DeviceBudget): string | null {
  let largest: { name: string; bytes: number } | null = null;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      const bytes = w.shape.reduce((a, b) => a * b, 1) * 4;
      // The first of the largest, as the check tensor by tensor used to name.
      if (!largest || bytes > largest.bytes) largest = { name: w.name, bytes };
    }
  }
  return weightsTooLarge(manifestByteLength(json), largest, budget);
}
