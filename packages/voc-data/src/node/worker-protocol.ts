import type { ProcessedSample, SampleJob } from './process-sample.js';

export interface WorkerRequest {
  taskId: number;
  job: SampleJob;
}

export type WorkerReply =
  | { taskId: number; result: ProcessedSample; error?: undefined }
  | { taskId: number; result?: undefined; error: { message: string; file?: string; problem?: string } };
