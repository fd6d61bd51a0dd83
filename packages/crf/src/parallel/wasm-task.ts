// One thread's part of WebAssembly mean field over a shared memory (see wasm/mean-field.ts): per
// iteration, phase A on its label vectors, a barrier, phase B on its pixels, a barrier. Runs in Node
// worker threads and in Web Workers of cross-origin isolated pages.
import { type MeanFieldPlan, filterPhase, updatePhase } from '../wasm/mean-field.js';
import { instantiate } from '../wasm/runtime.js';
import { waitAtBarrier } from './barrier.js';

export interface WasmThreadTask {
  kind: 'wasm';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  plan: MeanFieldPlan;
  share: number;
  iterations: number;
}

export function runWasmTask(task: WasmThreadTask): void {
  const { plan, memory, iterations } = task;
  const kernels = instantiate(task.module, memory);
  const share = plan.shares[task.share];
  const barrier = new Int32Array(memory.buffer, plan.barrier, 2);
  const parties = plan.shares.length;
  for (let it = 0; it < iterations; it++) {
    filterPhase(kernels, plan, share, memory);
    waitAtBarrier(barrier, parties);
    updatePhase(kernels, plan, share);
    waitAtBarrier(barrier, parties);
  }
}
