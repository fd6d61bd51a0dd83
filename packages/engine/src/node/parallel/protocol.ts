import type { ArchitectureSpec, LossReduction, RngState } from '@semseg/core';
import type { CrfOption, InferenceOptions, RgbImage } from '../../types.js';
import type { FusedGroup, FusedOptimizer } from './fused-update.js';
import type { StateLayout } from './layout.js';
import type { SharedRegion } from './shared-memory.js';

/** At most this many loss terms (training outputs) a model may have under data-parallel training. */
export const MAX_TERMS = 64;

/** Everything a replica thread needs to build its copy of the model. */
export interface ReplicaInit {
  type: 'init';
  /** 0-based replica index (its shard of every batch). */
  index: number;
  replicas: number;
  /** Modules each thread imports first: the model packages that register the architecture. */
  plugins: string[];
  backend: 'wasm' | 'cpu';
  /** The main thread's tfjs PROD flag (no debug checks, no "install tfjs-node" notice). */
  prod: boolean;
  architecture: ArchitectureSpec;
  /** The main thread's layout of `namedEntries()`, which the replica's model must match. */
  layout: StateLayout;
  /**
   * Parameters and buffers: written by the main thread when it publishes them, and updated in
   * place by the replicas at the end of every training step (each its own part).
   */
  state: SharedRegion;
  /** Every replica's gradients (trainable entries) then its buffers (the rest), by `gradLayout`; this one's is `gradients[index]`. */
  gradients: SharedRegion[];
  gradLayout: StateLayout;
  /** The optimiser's slots, by the trainable entries of `gradLayout` (Adam's second moments after them). */
  slots: SharedRegion;
  /**
   * The shared WebAssembly memory that holds state, gradients (`gradientStride` bytes apart) and
   * slots, for the update kernel; null when they are separate buffers (the JavaScript update).
   */
  memory: WebAssembly.Memory | null;
  gradientStride: number;
  /** Arrivals, losses and has-gradient flags of the update phase (update-phase.ts). */
  update: SharedArrayBuffer;
  /** Null when the pool only predicts. */
  optimizer: FusedOptimizer | null;
  /** Multipliers of each trainable entry of `gradLayout`, in order. */
  groups: FusedGroup[];
  /** [arrivals, ...], then MAX_TERMS float64 counts per replica: the labelled-pixel barrier. */
  barrier: SharedArrayBuffer;
  loss: { reduction: LossReduction; classWeights?: number[]; ignoreIndex: number };
}

export interface StepRequest {
  type: 'step';
  /** 1-based count of steps this pool has run (the barrier's generation). */
  sequence: number;
  images: Float32Array;
  labels: Uint8Array;
  shape: [number, number, number];
  pixelWeights?: Float32Array;
  /** The dropout generators' states for this shard of this step. */
  generators: Record<string, RngState>;
  /** Replicas with images this step (the first `parts`; the others only update). */
  parts: number;
  lr: number;
  /** The optimiser update's 1-based count. */
  iteration: number;
}

/**
 * Milliseconds of one replica's step: weights read from shared memory, forward + backward (of
 * which `counts` waiting for the others' labelled-pixel counts), gradients written, waiting for
 * the other replicas, then summing and updating this replica's part.
 */
export interface ReplicaStepTimings {
  read: number;
  compute: number;
  counts: number;
  write: number;
  barrier: number;
  update: number;
}

export interface PredictRequest {
  type: 'predict';
  image: RgbImage;
  options: InferenceOptions;
  crf: CrfOption | null;
  /** Re-read the weights from the shared state first (they changed since the last request). */
  reload: boolean;
  /** Also return the probabilities (and the CRF's marginals). */
  probabilities?: boolean;
}

export type ReplicaRequest = StepRequest | PredictRequest | { type: 'close' };

export type ReplicaReply =
  | { type: 'ready' }
  | {
      type: 'stepped';
      /** The batch's loss (every shard's share, summed in shard order); not finite: nothing was updated. */
      loss: number;
      timings: ReplicaStepTimings;
    }
  | {
      type: 'predicted';
      labels: Uint8Array;
      numClasses: number;
      probabilities?: Float32Array;
      crfLabels?: Uint8Array;
      /** The CRF's marginals Q (H x W x C), with `probabilities`. */
      q?: Float32Array;
      timings: { preprocess: number; network: number; crf?: number };
    }
  | { type: 'error'; message: string; name?: string; code?: string; stack?: string };
