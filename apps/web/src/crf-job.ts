// One CRF job as the worker runs it: mean-field iterations one at a time, with progress after
// each. Kept apart from the worker's message plumbing so tests run it directly.
import { createDenseCrf, unaryFromProbabilities } from '@semseg/crf';
import type { CrfRequest, CrfResponse } from './crf-protocol.js';

export function runCrfJob(
  request: CrfRequest,
  post: (message: CrfResponse, transfer: Transferable[]) => void,
): void {
  const { id, width, height, numClasses, probabilities, rgb, settings } = request;
  try {
    const start = performance.now();
    const unary = unaryFromProbabilities(probabilities, numClasses);
    const crf = createDenseCrf({ width, height, labels: numClasses, unary, rgb }, settings);
    const state = crf.startInference();
    for (let i = 0; i < settings.iterations; i++) {
      crf.stepInference(state);
      const labels = crf.map(state.q);
      post({ id, type: 'progress', iteration: i + 1, iterations: settings.iterations, labels }, [
        labels.buffer,
      ]);
    }
    const labels = crf.map(state.q);
    const q = state.q;
    const milliseconds = performance.now() - start;
    post({ id, type: 'done', labels, q, milliseconds, engine: crf.engine }, [labels.buffer, q.buffer]);
  } catch (error) {
    post({ id, type: 'error', message: error instanceof Error ? error.message : String(error) }, []);
  }
}
