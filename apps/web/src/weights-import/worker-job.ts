// The worker's side of an import: one request at a time, progress throttled, the choice between
// several fitting architectures asked of the page.
import { readWeightsFrom } from '@semseg/weights';
import { userMessage } from '../user-message.js';
import { ImportCancelled, type ImportStage, convertWeightsFile } from './convert.js';
import { fileSource } from './file-source.js';
import type { ImportReply, ImportRequest } from './protocol.js';

type Post = (reply: ImportReply, transfer?: Transferable[]) => void;

const pendingChoices = new Map<number, (architecture: string | null) => void>();

/** Progress at most every 100 ms (and at each stage change). */
function progressReporter(id: number, size: number, post: Post) {
  let stage: ImportStage = 'reading';
  let bytesRead = 0;
  let last = 0;
  const send = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    post({ type: 'progress', id, stage, bytesRead, size });
  };
  return {
    bytes(n: number) {
      bytesRead = n;
      send(n >= size);
    },
    stage(next: ImportStage) {
      stage = next;
      send(true);
    },
  };
}

export async function handleImportRequest(request: ImportRequest, post: Post): Promise<void> {
  if (request.type === 'choice') {
    pendingChoices.get(request.id)?.(request.architecture);
    pendingChoices.delete(request.id);
    return;
  }
  const { id, file, name, budget } = request;
  const progress = progressReporter(id, file.size, post);
  try {
    progress.stage('reading');
    const source = await fileSource(file, (n) => progress.bytes(n));
    const weights = await readWeightsFrom(source, name);
    const converted = await convertWeightsFile(weights, {
      budget,
      progress: (stage) => progress.stage(stage),
      choose: (fits) =>
        new Promise((resolve) => {
          pendingChoices.set(id, resolve);
          post({ type: 'choose', id, fits });
        }),
    });
    post(
      {
        type: 'done',
        id,
        modelJsonText: converted.modelJsonText,
        weights: converted.weights,
        summary: converted.summary,
      },
      [converted.weights.buffer as ArrayBuffer],
    );
  } catch (error) {
    post({ type: 'error', id, message: userMessage(error), cancelled: error instanceof ImportCancelled });
  }
}
