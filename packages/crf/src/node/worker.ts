// A worker thread of the CRF pool: runs one ThreadTask per message and reports back.
import { parentPort } from 'node:worker_threads';
import type { ThreadTask } from '../parallel/plan.js';
import { runTask } from '../parallel/run-task.js';
import { type WasmThreadTask, runWasmTask } from '../parallel/wasm-task.js';

parentPort?.on('message', (task: ThreadTask | WasmThreadTask) => {
  try {
    if (task.kind === 'wasm') runWasmTask(task);
    else runTask(task);
    parentPort?.postMessage({ ok: true });
  } catch (error) {
    parentPort?.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
