import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DenseCRF } from '../dense-crf.js';
import { InputError } from '../errors.js';
import { buildThreadTasks } from '../parallel/build-tasks.js';
import type { WasmThreadTask } from '../parallel/wasm-task.js';
import { requireNonNegativeInteger } from '../validate.js';

export interface CrfThreadPoolOptions {
  /** Worker threads; default: the machine's available parallelism, at most 8. */
  threads?: number;
}

type Reply = { ok: true } | { ok: false; message: string };

// From dist the worker is the worker.js built beside this file. From the TypeScript sources (tests,
// tsx) it is worker.ts, which a fresh thread can only load after registering tsx's loader.
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);

function spawnWorker(): Worker {
  if (!fromSource) return new Worker(workerUrl);
  // The ESM build of tsx's API (its CommonJS build cannot register ESM hooks from a worker).
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsxApi = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * Worker threads that run mean-field inference of a DenseCRF in parallel: labels are split between
 * threads for the lattice filtering and pixels for the softmax, in shared memory. Lattice
 * construction stays on the calling thread. One inference at a time per pool.
 */
export class CrfThreadPool {
  readonly threads: number;
  private readonly workers: Worker[];
  private busy = false;
  private closed = false;

  constructor(options: CrfThreadPoolOptions = {}) {
    const threads = options.threads ?? Math.min(availableParallelism(), 8);
    if (!Number.isInteger(threads) || threads < 1) {
      throw new InputError('options.threads', `must be a positive integer, got ${threads}`);
    }
    this.threads = threads;
    this.workers = Array.from({ length: threads }, spawnWorker);
    for (const worker of this.workers) worker.unref();
  }

  /** Q after `iterations` updates, as DenseCRF.inference computes it (to float rounding). */
  async inference(crf: DenseCRF, iterations: number): Promise<Float32Array> {
    requireNonNegativeInteger('iterations', iterations);
    if (this.closed) throw new InputError('pool', 'is closed');
    if (this.busy) throw new InputError('pool', 'is running another inference; await it first');
    this.busy = true;
    try {
      if (crf.engine === 'wasm') return await this.inferenceWasm(crf, iterations);
      const { q, tasks } = buildThreadTasks(crf, iterations, this.threads);
      if (iterations > 0) await Promise.all(tasks.map((task, t) => this.run(this.workers[t], task)));
      return q;
    } finally {
      this.busy = false;
    }
  }

  /** The WebAssembly kernels over shared memory: one share of label vectors and pixels per thread. */
  private async inferenceWasm(crf: DenseCRF, iterations: number): Promise<Float32Array> {
    const meanField = crf.createWasmMeanField(this.threads);
    meanField.start();
    const { module, memory, plan } = meanField;
    if (iterations > 0) {
      await Promise.all(
        plan.shares.map((_, share) => {
          const task: WasmThreadTask = { kind: 'wasm', module, memory, plan, share, iterations };
          return this.run(this.workers[share], task);
        }),
      );
    }
    const q = meanField.readQ();
    // Only after every thread finished: a failed run closes the pool and drops the memory instead.
    meanField.dispose();
    return q;
  }

  private run(worker: Worker, task: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        cleanup();
        // A thread that died leaves the others waiting at a barrier: the pool cannot continue.
        void this.close();
        reject(error);
      };
      const onMessage = (reply: Reply) => {
        cleanup();
        if (reply.ok) resolve();
        else {
          void this.close();
          reject(new Error(`crf worker failed: ${reply.message}`));
        }
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(task);
    });
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** One threaded inference with a temporary pool. */
export async function inferenceThreaded(
  crf: DenseCRF,
  iterations: number,
  options: CrfThreadPoolOptions = {},
): Promise<Float32Array> {
  const pool = new CrfThreadPool(options);
  try {
    return await pool.inference(crf, iterations);
  } finally {
    await pool.close();
  }
}
