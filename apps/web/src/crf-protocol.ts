import type { CrfSettings } from '@semseg/crf';

/** Page -> worker: one CRF job. The buffers are transferred. */
export interface CrfRequest {
  id: number;
  width: number;
  height: number;
  numClasses: number;
  probabilities: Float32Array;
  rgb: Uint8Array;
  settings: CrfSettings;
}

/** Worker -> page: progress after each mean-field iteration, then the result or an error. */
export type CrfResponse =
  | { id: number; type: 'progress'; iteration: number; iterations: number; labels: Uint8Array }
  | {
      id: number;
      type: 'done';
      labels: Uint8Array;
      q: Float32Array;
      milliseconds: number;
      /** Where the CRF ran: WebAssembly SIMD kernels or the TypeScript loops. */
      engine: 'wasm' | 'js';
    }
  | { id: number; type: 'error'; message: string };
