// The page's side of the CRF worker: one job at a time; a new job (or cancel) ends the old one by
// replacing the worker, since a mean-field iteration cannot be interrupted from outside.
import type { CrfSettings } from '@semseg/crf';
import type { CrfRequest, CrfResponse } from './crf-protocol.js';

export interface CrfJob {
  width: number;
  height: number;
  numClasses: number;
  probabilities: Float32Array;
  rgb: Uint8Array;
  settings: CrfSettings;
}

export interface CrfResult {
  labels: Uint8Array;
  q: Float32Array;
  milliseconds: number;
  engine: 'wasm' | 'js';
}

/** A worker as the client needs it (a DOM Worker fits; tests pass a fake). */
export interface WorkerLike {
  postMessage(message: CrfRequest, transfer: Transferable[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent<CrfResponse>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
}

export class CrfCancelled extends Error {
  override readonly name = 'CrfCancelled';
  constructor() {
    super('the CRF run was replaced by a newer one');
  }
}

export class CrfClient {
  private worker: WorkerLike | null = null;
  private nextId = 1;
  private pending: { id: number; reject: (e: Error) => void } | null = null;

  constructor(private readonly createWorker: () => WorkerLike) {}

  /** Runs a job; `onProgress` gets the labels after each iteration. Copies the inputs it sends. */
  run(
    job: CrfJob,
    onProgress: (iteration: number, iterations: number, labels: Uint8Array) => void,
  ): Promise<CrfResult> {
    this.cancel();
    const worker = this.createWorker();
    this.worker = worker;
    const id = this.nextId++;
    return new Promise<CrfResult>((resolve, reject) => {
      this.pending = { id, reject };
      worker.onmessage = ({ data }) => {
        if (data.id !== id) return;
        if (data.type === 'progress') onProgress(data.iteration, data.iterations, data.labels);
        else {
          this.pending = null;
          if (data.type === 'done')
            resolve({ labels: data.labels, q: data.q, milliseconds: data.milliseconds, engine: data.engine });
          else reject(new Error(`CRF failed: ${data.message}`));
        }
      };
      worker.onerror = (event) => {
        this.pending = null;
        reject(new Error(`the CRF worker failed: ${event.message || 'it could not start'}`));
      };
      const probabilities = job.probabilities.slice();
      const rgb = job.rgb.slice();
      worker.postMessage({ id, ...job, probabilities, rgb }, [probabilities.buffer, rgb.buffer]);
    });
  }

  /** Stops the running job, if any; its promise rejects with CrfCancelled. */
  cancel(): void {
    this.worker?.terminate();
    this.worker = null;
    if (this.pending) {
      this.pending.reject(new CrfCancelled());
      this.pending = null;
    }
  }
}
