// Worker-thread entry of the batch pipeline: decode + augment + normalise samples posted by WorkerPool.
import { parentPort } from 'node:worker_threads';
import { DatasetError } from '../errors.js';
import { type SampleJob, processSample } from './process-sample.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('pipeline-worker must run in a worker thread');

port.on('message', async (request: WorkerRequest) => {
  const job: SampleJob = request.job;
  try {
    const result = await processSample(job);
    const reply: WorkerReply = { taskId: request.taskId, result };
    port.postMessage(reply, [result.image.buffer as ArrayBuffer, result.label.buffer as ArrayBuffer]);
  } catch (caught) {
    const error = caught as Error;
    const reply: WorkerReply = {
      taskId: request.taskId,
      error: {
        message: error.message,
        file: error instanceof DatasetError ? error.file : undefined,
        problem: error instanceof DatasetError ? error.problem : undefined,
      },
    };
    port.postMessage(reply);
  }
});
