import { Worker } from 'node:worker_threads';
import { DatasetError } from '../errors.js';
import type { ProcessedSample, SampleJob } from './process-sample.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

interface Pending {
  resolve: (sample: ProcessedSample) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  inFlight: number;
}

function spawnWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from TypeScript sources (tests, bench): load the worker through tsx.
    const entry = new URL('./pipeline-worker.ts', here).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(new URL('./pipeline-worker.js', here));
}

/** A fixed set of worker threads that each decode, augment and normalise samples. */
export class WorkerPool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextTaskId = 0;
  private closed = false;
  /** Set once a worker died: the pool then refuses work instead of posting to a dead thread. */
  private broken: Error | undefined;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`worker count must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) {
      const entry: PoolWorker = { worker: spawnWorker(), inFlight: 0 };
      entry.worker.on('message', (reply: WorkerReply) => this.settle(entry, reply));
      entry.worker.on('error', (error) => this.breakDown(error));
      entry.worker.on('exit', (code) => {
        if (!this.closed) this.breakDown(new Error(`pipeline worker exited with code ${code}`));
      });
      entry.worker.unref(); // idle workers never keep the process alive
      this.workers.push(entry);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(job: SampleJob): Promise<ProcessedSample> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const entry = this.workers.reduce((best, w) => (w.inFlight < best.inFlight ? w : best));
    const taskId = this.nextTaskId++;
    const request: WorkerRequest = { taskId, job };
    return new Promise<ProcessedSample>((resolve, reject) => {
      this.pending.set(taskId, { resolve, reject });
      if (entry.inFlight++ === 0) entry.worker.ref();
      entry.worker.postMessage(request);
    });
  }

  private settle(entry: PoolWorker, reply: WorkerReply): void {
    if (--entry.inFlight === 0) entry.worker.unref();
    const pending = this.pending.get(reply.taskId);
    if (!pending) return;
    this.pending.delete(reply.taskId);
    if (reply.error) {
      const { file, problem, message } = reply.error;
      pending.reject(
        file !== undefined && problem !== undefined ? new DatasetError(file, problem) : new Error(message),
      );
    } else {
      pending.resolve(reply.result);
    }
  }

  private breakDown(error: Error): void {
    this.broken ??= error;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('WorkerPool closed'));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
