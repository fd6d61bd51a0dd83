// Messages between the page and the fine-tune worker (the same events drive the main-thread
// fallback). Typed arrays travel as transferables.
import type { TrainableLayers } from './head.js';

export interface FinetuneSettings {
  layers: TrainableLayers;
  steps: number;
  learningRate: number;
  /** Segment the image every this many steps (and after the last one). */
  previewEvery: number;
}

export interface CheckpointBytes {
  modelJsonText: string;
  weights: Uint8Array;
}

/** What a fine-tune needs: the model to copy, one image and its marks. */
export interface FinetuneInput {
  checkpoint: CheckpointBytes;
  image: { width: number; height: number; data: Uint8Array };
  /** One class per pixel, 255 = not marked (ignored by the loss). */
  labels: Uint8Array;
  settings: FinetuneSettings;
}

export type FinetuneEvent =
  | { type: 'ready'; backend: string; trainable: { tensors: number; scalars: number; total: number } }
  | { type: 'step'; step: number; loss: number; lr: number; milliseconds: number }
  | { type: 'prediction'; step: number; labels: Uint8Array }
  | { type: 'paused'; step: number }
  | { type: 'resumed'; step: number }
  | { type: 'done'; step: number }
  | { type: 'checkpoint'; checkpoint: CheckpointBytes }
  | { type: 'error'; message: string };

/** Where the worker finds the backend's files (the wasm binaries are served by the page). */
export interface BackendRequest {
  name: string;
  wasmDirectory: string;
}

export type FinetuneRequest =
  | { type: 'start'; run: number; backend: BackendRequest; input: FinetuneInput }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'export' };

/** The worker's first answer to 'start' when it cannot run that backend: the page trains itself. */
export interface BackendUnavailableEvent {
  type: 'unavailable';
  reason: string;
}

export type WorkerEvent = FinetuneEvent | BackendUnavailableEvent;

/** A worker event of the run that the 'start' request numbered (later runs ignore earlier ones' events). */
export interface WorkerMessage {
  run: number;
  event: WorkerEvent;
}
