// Runs the dense CRF off the page's thread (hundreds of ms per image), reporting each iteration.
import { runCrfJob } from './crf-job.js';
import type { CrfRequest, CrfResponse } from './crf-protocol.js';

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<CrfRequest>) => void) | null;
  postMessage(message: CrfResponse, transfer: Transferable[]): void;
};

scope.onmessage = ({ data }) => runCrfJob(data, (message, transfer) => scope.postMessage(message, transfer));
