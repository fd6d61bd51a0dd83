// The page's state and the pure rules that change it. The DOM views read it; app.ts changes it.
import type { Normalization, Rgb } from '@semseg/core';
import type { BackendChoice } from './backend-choice.js';
import type { CrfResult } from './crf-client.js';
import { type CrfForm, DEFAULT_CRF_PRESET, formFromPreset } from './crf-settings.js';
import { agreement } from './format.js';
import type { LabelMap } from './hover.js';
import { DEFAULT_INFERENCE, type InferenceForm } from './inference-settings.js';
import type { RuntimeTrial } from './onnx-runtime.js';
import type { RuntimeChoice } from './page-runtime.js';
import type { ImportStage, ImportSummary } from './weights-import/convert.js';

export type Status = { kind: 'idle' | 'busy' | 'ready' | 'error'; text: string };

export interface CheckpointInfo {
  source: string;
  architecture: string;
  classes: string[];
  palette: Rgb[];
  weightBytes: number;
  /** Scalars in the model's parameters (buffers such as batch-norm statistics excluded). */
  parameters: number;
  normalization: Normalization;
  /** Set when the checkpoint was converted from a foreign weights file on this page. */
  imported?: ImportSummary;
}

/** A foreign weights file being read and converted by the import worker. */
export interface ImportProgress {
  file: string;
  stage: ImportStage;
  bytesRead: number;
  size: number;
}

/** Several architectures fit a file's names: the page asks which it is. */
export interface ArchitectureChoice {
  file: string;
  fits: Array<{ name: string; description: string; map: string }>;
}

export interface ImageInfo {
  name: string;
  /** RGB, HWC, as the network sees it. */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** The file's own size when the page scaled it down. */
  originalSize?: { width: number; height: number };
}

/** One network pass: what ran where and how long each stage took. */
export interface NetworkResult extends LabelMap {
  backend: string;
  /** How the network was applied (whole image, sliding window, scales, flip). */
  inference: string;
  timings: { decode: number; preprocess: number; network: number; total: number };
}

/** A row of the backend comparison: the same image and checkpoint on each backend tried. */
export interface RunRecord {
  backend: string;
  preprocess: number;
  network: number;
  total: number;
  /** Share of pixels whose label equals the first run's; 1 for the first run. */
  agreementWithFirst: number;
}

export interface CrfState {
  enabled: boolean;
  preset: string;
  form: CrfForm;
  formErrors: string[];
  running: boolean;
  iteration: number;
  iterations: number;
  /** Iterations reported by the worker during the latest run, in order. */
  seenIterations: number[];
  /** The labels of the latest iteration while running. */
  progressLabels: Uint8Array | null;
  result: CrfResult | null;
}

export type CompareMode = 'after' | 'before' | 'split';

export interface AppState {
  status: Status;
  /** The message of the last failure, shown until the next success or dismissal. */
  error: string | null;
  backendChoice: BackendChoice;
  backend: { name: string; active: string; fallbacks: string[] } | null;
  checkpoint: CheckpointInfo | null;
  image: ImageInfo | null;
  network: NetworkResult | null;
  /** The first pass on the current image and checkpoint: what other backends are compared with. */
  firstRun: NetworkResult | null;
  runs: RunRecord[];
  crf: CrfState;
  view: { opacity: number; compare: CompareMode; split: number };
  inference: { form: InferenceForm; errors: string[] };
  importing: ImportProgress | null;
  choice: ArchitectureChoice | null;
  /** The model kept in IndexedDB for the next visit, if any. */
  stored: { source: string; savedAt: string } | null;
  camera: { on: boolean; fps: number; frames: number };
  /** tfjs or onnxruntime-web for the network pass (page-runtime.ts), and what ran the last one. */
  runtimeChoice: RuntimeChoice;
  /** `threads`: onnxruntime-web's wasm threads once a session ran (1 unless cross-origin isolated). */
  runtime: { label: string; trials: RuntimeTrial[]; threads?: number } | null;
}

export function initialState(backendChoice: BackendChoice): AppState {
  return {
    status: { kind: 'busy', text: 'Starting…' },
    error: null,
    backendChoice,
    backend: null,
    checkpoint: null,
    image: null,
    network: null,
    firstRun: null,
    runs: [],
    crf: {
      enabled: false,
      preset: DEFAULT_CRF_PRESET,
      form: formFromPreset(DEFAULT_CRF_PRESET),
      formErrors: [],
      running: false,
      iteration: 0,
      iterations: 0,
      progressLabels: null,
      seenIterations: [],
      result: null,
    },
    view: { opacity: 0.6, compare: 'after', split: 0.5 },
    inference: { form: { ...DEFAULT_INFERENCE }, errors: [] },
    importing: null,
    choice: null,
    stored: null,
    camera: { on: false, fps: 0, frames: 0 },
    runtimeChoice: 'tfjs',
    runtime: null,
  };
}

/** Adds a network pass to the comparison; a new image or checkpoint starts a new comparison. */
export function recordRun(
  runs: readonly RunRecord[],
  first: LabelMap | null,
  result: NetworkResult,
  sameInput: boolean,
): RunRecord[] {
  const base = sameInput && first && runs.length > 0 ? first : null;
  const row: RunRecord = {
    backend: result.backend,
    preprocess: result.timings.preprocess,
    network: result.timings.network,
    total: result.timings.total,
    agreementWithFirst: base ? agreement(base.labels, result.labels) : 1,
  };
  return base ? [...runs, row] : [row];
}

/** The label map the page shows: the CRF's (final or in progress) when it is on, else the network's. */
export function shownMap(state: AppState): { map: LabelMap; refined: boolean } | null {
  const net = state.network;
  if (!net) return null;
  const crf = state.crf;
  if (crf.enabled && crf.result) {
    return { map: { ...net, labels: crf.result.labels, probabilities: crf.result.q }, refined: true };
  }
  if (crf.enabled && crf.running && crf.progressLabels) {
    return { map: { ...net, labels: crf.progressLabels }, refined: true };
  }
  return { map: net, refined: false };
}

/** Pixels the CRF changed, when there is a finished CRF result. */
export function crfChanges(state: AppState): { pixels: number; share: number } | null {
  if (!state.network || !state.crf.result) return null;
  const share = 1 - agreement(state.network.labels, state.crf.result.labels);
  return { pixels: Math.round(share * state.network.labels.length), share };
}

type Listener = (state: AppState) => void;

/** A minimal observable store: views subscribe, actions replace the state by a new object. */
export class Store {
  private listeners: Listener[] = [];
  constructor(private current: AppState) {}

  get state(): AppState {
    return this.current;
  }

  update(change: (state: AppState) => AppState): void {
    this.current = change(this.current);
    for (const listener of this.listeners) listener(this.current);
  }

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
    listener(this.current);
  }
}
