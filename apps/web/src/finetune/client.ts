// Runs fine-tunes for the page: in a module worker with its own backend, or, where that backend
// cannot start in a worker (WebGL without OffscreenCanvas, a worker that fails to load), on the
// page's thread with a yield after every step. Either way the page gets the same events and is
// told which ran where.
import { FinetuneJob } from './job.js';
import type {
  BackendRequest,
  CheckpointBytes,
  FinetuneEvent,
  FinetuneInput,
  FinetuneRequest,
  WorkerMessage,
} from './protocol.js';

/** A Worker as the client uses it (a fake one in tests). */
export interface FinetuneWorkerLike {
  postMessage(message: FinetuneRequest, transfer?: Transferable[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent<WorkerMessage>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
}

export type Placement =
  | { where: 'worker'; backend: string }
  | { where: 'main thread'; backend: string; reason: string };

export interface FinetuneListener {
  placed(placement: Placement): void;
  event(event: FinetuneEvent): void;
}

/** Yields to the page between steps on the main thread: a paint and a task. */
const yieldToPage = (): Promise<void> =>
  new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

interface Run {
  id: number;
  input: FinetuneInput;
  listener: FinetuneListener;
  where: 'worker' | 'main thread';
  mainJob: FinetuneJob | null;
}

export class FinetuneClient {
  private worker: FinetuneWorkerLike | null = null;
  private current: Run | null = null;
  private runs = 0;
  private pendingExport: { run: number; resolve(c: CheckpointBytes): void; reject(e: Error): void } | null =
    null;

  constructor(
    private readonly createWorker: () => FinetuneWorkerLike,
    /** The page's own backend, for the main-thread fallback. */
    private readonly mainBackend: () => string,
    private readonly yieldNow: () => Promise<void> = yieldToPage,
  ) {}

  /** Starts a fine-tune (ending any previous one) on `backend`, in the worker when it can. */
  start(input: FinetuneInput, backend: BackendRequest, listener: FinetuneListener): void {
    this.stopCurrent();
    const run: Run = { id: ++this.runs, input, listener, where: 'worker', mainJob: null };
    this.current = run;
    let worker: FinetuneWorkerLike;
    try {
      worker = this.ensureWorker();
    } catch (error) {
      this.runOnMainThread(run, `the worker did not start (${(error as Error).message})`);
      return;
    }
    // Copies: the page keeps its marks, image and checkpoint bytes.
    const copy: FinetuneInput = {
      ...input,
      labels: Uint8Array.from(input.labels),
      image: { ...input.image, data: Uint8Array.from(input.image.data) },
      checkpoint: { ...input.checkpoint, weights: Uint8Array.from(input.checkpoint.weights) },
    };
    worker.postMessage({ type: 'start', run: run.id, backend, input: copy }, [
      copy.labels.buffer as ArrayBuffer,
      copy.image.data.buffer as ArrayBuffer,
      copy.checkpoint.weights.buffer as ArrayBuffer,
    ]);
  }

  private ensureWorker(): FinetuneWorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker();
    worker.onmessage = ({ data }) => this.fromWorker(data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      worker.terminate();
      if (this.worker === worker) this.worker = null;
      const run = this.current;
      const where = event.filename ? ` at ${event.filename}:${event.lineno}` : '';
      const problem = `the worker failed (${event.message ?? 'no message'}${where})`;
      console.warn(problem);
      if (run?.where === 'worker') this.runOnMainThread(run, problem);
    };
    this.worker = worker;
    return worker;
  }

  private fromWorker({ run: id, event }: WorkerMessage): void {
    if (event.type === 'checkpoint' || (event.type === 'error' && this.pendingExport?.run === id)) {
      if (this.pendingExport?.run === id) {
        this.settleExport(event.type === 'checkpoint' ? event.checkpoint : new Error(event.message));
        return;
      }
    }
    const run = this.current;
    if (!run || run.id !== id || run.where !== 'worker') return;
    if (event.type === 'unavailable') {
      this.runOnMainThread(run, event.reason);
      return;
    }
    if (event.type === 'ready') run.listener.placed({ where: 'worker', backend: event.backend });
    run.listener.event(event);
  }

  private runOnMainThread(run: Run, reason: string): void {
    if (this.current !== run) return;
    run.where = 'main thread';
    const backend = this.mainBackend();
    const job = new FinetuneJob(
      run.input,
      (event) => {
        if (this.current === run) run.listener.event(event);
      },
      this.yieldNow,
    );
    run.mainJob = job;
    run.listener.placed({ where: 'main thread', backend, reason });
    void job.run(backend);
  }

  pause(): void {
    this.send({ type: 'pause' }, (job) => job.pause());
  }

  resume(): void {
    this.send({ type: 'resume' }, (job) => job.resume());
  }

  /** The fine-tuned model's checkpoint bytes. */
  exportCheckpoint(): Promise<CheckpointBytes> {
    const run = this.current;
    if (run?.mainJob) return run.mainJob.exportCheckpoint();
    if (!run || !this.worker) return Promise.reject(new Error('no fine-tuned model yet'));
    this.settleExport(new Error('superseded by a newer download'));
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      this.pendingExport = { run: run.id, resolve, reject };
      worker.postMessage({ type: 'export' });
    });
  }

  private settleExport(result: CheckpointBytes | Error): void {
    const pending = this.pendingExport;
    this.pendingExport = null;
    if (!pending) return;
    if (result instanceof Error) pending.reject(result);
    else pending.resolve(result);
  }

  private send(request: FinetuneRequest, onMain: (job: FinetuneJob) => void): void {
    const run = this.current;
    if (run?.mainJob) onMain(run.mainJob);
    else if (run) this.worker?.postMessage(request);
  }

  private stopCurrent(): void {
    const run = this.current;
    this.current = null;
    this.settleExport(new Error('a new fine-tune started'));
    if (!run) return;
    if (run.mainJob) void run.mainJob.dispose();
    else this.worker?.postMessage({ type: 'stop' });
  }

  dispose(): void {
    this.stopCurrent();
    this.worker?.terminate();
    this.worker = null;
  }
}
