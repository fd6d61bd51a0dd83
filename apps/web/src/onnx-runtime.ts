// onnxruntime-web as an inference runtime next to tfjs in the page: the network pass of the
// engine's one inference path (windows, scales, flips, softmax and the CRF stay the same) runs in
// onnxruntime on WebGPU, or on its wasm with threads where the page is cross-origin isolated. The
// graph is exported from the loaded checkpoint per input size (@semseg/onnx's `onnxModelOn`).
// Which runtime segments is chosen by measuring both on this device.
import type { Normalization, SegmentationModel } from '@semseg/core';
import { type InferenceOptions, predictImageAsync } from '@semseg/engine';
import { type OnnxSegmentationModel, type OrtRuntime, type OrtSessionLike, onnxModelOn } from '@semseg/onnx';
import type { RgbImage } from '@semseg/voc-data';
import { agreement } from './format.js';

/** The part of `import * as ort from 'onnxruntime-web'` used here (the page passes the module in). */
export interface OrtWebModule {
  InferenceSession: {
    create(
      model: Uint8Array,
      options: { executionProviders: ExecutionProvider[]; graphOptimizationLevel: 'all' },
    ): Promise<unknown>;
  };
  Tensor: new (
    type: 'float32',
    data: Float32Array,
    dims: readonly number[],
  ) => { dims: readonly number[]; data: unknown };
  env: { wasm: { numThreads?: number } };
}

export type OnnxProvider = 'webgpu' | 'wasm';

/** An execution provider by name, or WebGPU with its options. */
type ExecutionProvider = 'wasm' | { name: 'webgpu'; preferredLayout: 'NCHW' | 'NHWC' };

/**
 * WebGPU keeps the graph's NCHW layout. In its default NHWC layout onnxruntime-web 1.30's WebGPU
 * Conv (Conv2dMMProgram, conv2d_mm.cc) reads an input whose channel count is a multiple of 3 but not
 * of 4 (6, 9, 21, ...) three channels at a time and indexes them at channel `xCh / 4` instead of
 * `xCh`: every such Conv with a kernel above 1x1 is wrong (FCN's 2x2 sub-pixel upscore convs over
 * 21 classes gave tfjs's labels on 90.6% of pixels). Its NCHW Conv does not take that path
 * (100.000%, max |dlogit| 1.5e-5 against wasm; measured in Chromium on SwiftShader).
 */
const WEBGPU_PROVIDER: ExecutionProvider = { name: 'webgpu', preferredLayout: 'NCHW' };

/** wasm threads: all cores (at most 8) where SharedArrayBuffer is allowed, else one. */
export function wasmThreads(): number {
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  const cores = typeof navigator !== 'undefined' ? (navigator.hardwareConcurrency ?? 1) : 1;
  return isolated ? Math.max(1, Math.min(8, cores)) : 1;
}

/** onnxruntime-web sessions on one execution provider. */
export function webOnnxRuntime(ort: OrtWebModule, provider: OnnxProvider): OrtRuntime {
  if (provider === 'wasm') ort.env.wasm.numThreads = wasmThreads();
  return {
    createSession: async (graph) =>
      (await ort.InferenceSession.create(graph, {
        executionProviders: [provider === 'webgpu' ? WEBGPU_PROVIDER : 'wasm'],
        graphOptimizationLevel: 'all',
      })) as OrtSessionLike,
    tensor: (data, dims) => new ort.Tensor('float32', data, dims),
  };
}

/** One candidate's measurement: milliseconds per image, or why it could not run. */
export interface RuntimeTrial {
  runtime: 'tfjs' | `onnx-${OnnxProvider}`;
  ms?: number;
  error?: string;
}

export interface RuntimeChoice {
  /** The model to segment with: the tfjs model itself, or its onnxruntime twin. */
  model: SegmentationModel;
  runtime: RuntimeTrial['runtime'];
  trials: RuntimeTrial[];
}

/** Milliseconds of a second run (the first builds shaders, the export and the session), and its labels. */
async function timeOnce(
  model: SegmentationModel,
  image: RgbImage,
  options: InferenceOptions,
): Promise<{ ms: number; labels: Uint8Array }> {
  await predictImageAsync(model, image, options);
  const start = performance.now();
  const prediction = await predictImageAsync(model, image, options);
  return { ms: performance.now() - start, labels: prediction.labels };
}

/** A candidate must give tfjs's labels on this share of the probe's pixels to be chosen. */
export const MIN_AGREEMENT = 0.999;

/**
 * Measures the page's tfjs backend against onnxruntime-web (WebGPU where the browser has it, then
 * wasm) on `probe` with the page's inference settings, and returns the fastest. The onnx models
 * that lose are released; a candidate that fails (no adapter, an operator the provider lacks) is
 * reported in `trials` and skipped.
 */
export async function chooseInferenceRuntime(
  model: SegmentationModel,
  normalization: Normalization,
  ort: OrtWebModule,
  probe: RgbImage,
  settings: Omit<InferenceOptions, 'normalization'> = {},
): Promise<RuntimeChoice> {
  const options = { ...settings, normalization };
  const reference = await timeOnce(model, probe, options);
  const trials: RuntimeTrial[] = [{ runtime: 'tfjs', ms: reference.ms }];
  let best: { model: SegmentationModel; trial: RuntimeTrial } = { model, trial: trials[0]! };
  const providers: OnnxProvider[] = [
    ...(typeof navigator !== 'undefined' && 'gpu' in navigator ? (['webgpu'] as const) : []),
    'wasm',
  ];
  for (const provider of providers) {
    const candidate: OnnxSegmentationModel = onnxModelOn(webOnnxRuntime(ort, provider), model, {
      source: `onnxruntime-web (${provider})`,
    });
    const trial: RuntimeTrial = { runtime: `onnx-${provider}` };
    trials.push(trial);
    try {
      const run = await timeOnce(candidate, probe, options);
      // Fast but wrong is no choice: a provider's kernel bug shows here (onnxruntime-web 1.30's
      // WebGPU Conv in NHWC gave tfjs's labels on 90.6% of a sample's pixels; see WEBGPU_PROVIDER).
      const same = agreement(run.labels, reference.labels);
      if (same < MIN_AGREEMENT)
        throw new Error(`labels equal tfjs's on only ${(same * 100).toFixed(1)}% of pixels`);
      trial.ms = run.ms;
    } catch (error) {
      trial.error = String((error as Error).message ?? error).split('\n')[0];
      await candidate.release();
      continue;
    }
    if (trial.ms < best.trial.ms!) {
      if (best.model !== model) await (best.model as OnnxSegmentationModel).release();
      best = { model: candidate, trial };
    } else await candidate.release();
  }
  return { model: best.model, runtime: best.trial.runtime, trials };
}
