// The fine-tune worker: its own tfjs backend and model copy; posts losses and predictions.
import '../models.js';
import { FinetuneJob } from './job.js';
import type { FinetuneRequest, WorkerEvent, WorkerMessage } from './protocol.js';
import { startWorkerBackend } from './worker-backend.js';

const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<FinetuneRequest>) => void) | null;
};

function post(run: number, event: WorkerEvent): void {
  const transfer: Transferable[] = [];
  if (event.type === 'prediction') transfer.push(event.labels.buffer as ArrayBuffer);
  if (event.type === 'checkpoint') transfer.push(event.checkpoint.weights.buffer as ArrayBuffer);
  scope.postMessage({ run, event }, transfer);
}

// A failure outside a step (a backend's uncaptured error) is the run's error, not a silent stop.
self.addEventListener('unhandledrejection', (event) => {
  const reason = (event as PromiseRejectionEvent).reason;
  post(run, { type: 'error', message: reason instanceof Error ? reason.message : String(reason) });
});

let job: FinetuneJob | null = null;
let run = 0;
let backend: string | null = null;

scope.onmessage = async ({ data: request }) => {
  if (request.type === 'start') {
    const previous = job;
    job = null;
    run = request.run;
    await previous?.dispose();
    if (backend !== request.backend.name) {
      const problem = await startWorkerBackend(request.backend);
      if (problem) {
        post(request.run, { type: 'unavailable', reason: problem });
        return;
      }
      backend = request.backend.name;
    }
    if (run !== request.run) return; // a newer start arrived meanwhile
    const current = new FinetuneJob(request.input, (event) => post(request.run, event));
    job = current;
    await current.run(backend);
  } else if (request.type === 'pause') job?.pause();
  else if (request.type === 'resume') job?.resume();
  else if (request.type === 'stop') job?.stop();
  else if (request.type === 'export') {
    const exporting = run;
    try {
      if (!job) throw new Error('no fine-tuned model yet');
      post(exporting, { type: 'checkpoint', checkpoint: await job.exportCheckpoint() });
    } catch (error) {
      post(exporting, { type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  }
};
