import type { DeviceBudget } from '../device-budget.js';
// The page's side of the weights-import worker: one import at a time, in a fresh worker each time
// (a conversion holds a whole model on the cpu backend; ending the worker frees it all).
import { ImportCancelled } from './convert.js';
import type { ImportStage, ImportSummary } from './convert.js';
import type { ArchitectureFit } from './match.js';
import type { ImportReply, ImportRequest } from './protocol.js';

export interface ImportWorkerLike {
  postMessage(message: ImportRequest, transfer?: Transferable[]): void;
  terminate(): void;
  onmessage: ((event: MessageEvent<ImportReply>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
}

export interface ImportCallbacks {
  progress(stage: ImportStage, bytesRead: number, size: number): void;
  /** Several architectures fit the file's names: the one to use, or null to cancel. */
  choose(fits: ArchitectureFit[]): Promise<string | null>;
}

export interface ImportedCheckpoint {
  modelJsonText: string;
  weights: Uint8Array;
  summary: ImportSummary;
}

/** A failed import: `message` names the file and the problem. */
export class ImportFailed extends Error {
  override readonly name = 'ImportFailed';
}

export class WeightsImportClient {
  private nextId = 1;
  constructor(private readonly createWorker: () => ImportWorkerLike) {}

  convert(
    file: Blob,
    name: string,
    budget: DeviceBudget,
    callbacks: ImportCallbacks,
  ): Promise<ImportedCheckpoint> {
    const worker = this.createWorker();
    const id = this.nextId++;
    return new Promise<ImportedCheckpoint>((resolve, reject) => {
      const finish = () => worker.terminate();
      worker.onmessage = ({ data }) => {
        if (data.id !== id) return;
        switch (data.type) {
          case 'progress':
            callbacks.progress(data.stage, data.bytesRead, data.size);
            break;
          case 'choose':
            callbacks.choose(data.fits).then(
              (architecture) => worker.postMessage({ type: 'choice', id, architecture }),
              () => worker.postMessage({ type: 'choice', id, architecture: null }),
            );
            break;
          case 'done':
            finish();
            resolve({ modelJsonText: data.modelJsonText, weights: data.weights, summary: data.summary });
            break;
          case 'error':
            finish();
            reject(data.cancelled ? new ImportCancelled(data.message) : new ImportFailed(data.message));
        }
      };
      worker.onerror = (event) => {
        finish();
        reject(new ImportFailed(`the import worker failed: ${event.message || 'it could not start'}`));
      };
      worker.postMessage({ type: 'convert', id, file, name, budget });
    });
  }
}
