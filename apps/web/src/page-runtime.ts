// Which runtime runs the network pass of the page's segmentation: tfjs (the page's backend), or
// onnxruntime-web on its WebGPU or wasm execution provider with the graph exported from the
// loaded checkpoint (@semseg/onnx), or the faster of them measured on this device. The engine's
// inference path around it (windows, scales, flips, softmax, the CRF) is the same in every case.
import type { CheckpointMeta, SegmentationModel } from '@semseg/core';
import type { OnnxSegmentationModel } from '@semseg/onnx';
import type { RgbImage } from '@semseg/voc-data';
import type { InferenceSettings } from './inference-settings.js';
// Types only: onnx-runtime.ts pulls in @semseg/onnx (the exporter, protobufjs), which loads when
// onnxruntime is first chosen, not with the page.
import type { OnnxProvider, OrtWebModule, RuntimeTrial } from './onnx-runtime.js';

export type RuntimeChoice = 'tfjs' | 'onnx-webgpu' | 'onnx-wasm' | 'fastest';

// 'fastest' keeps a candidate only where its labels agree with tfjs's; one chosen by name is not
// checked (onnx-runtime.ts's WEBGPU_PROVIDER says why WebGPU runs in NCHW).
export const RUNTIME_LABELS: Record<RuntimeChoice, string> = {
  tfjs: 'tfjs (the backend above)',
  'onnx-webgpu': 'onnxruntime-web, WebGPU',
  'onnx-wasm': 'onnxruntime-web, wasm',
  fastest: 'the fastest correct one, measured here',
};

export function isRuntimeChoice(value: string): value is RuntimeChoice {
  return value in RUNTIME_LABELS;
}

/**
 * onnxruntime-web's WebGPU build (which also runs the wasm execution provider), loaded when first
 * chosen. Its .wasm is an asset of this app (the bundle names it with `new URL(..., import.meta.url)`,
 * which Vite emits into assets/): no CDN.
 */
async function loadOrt(): Promise<OrtWebModule> {
  const ort = await import('onnxruntime-web/webgpu');
  return ort as unknown as OrtWebModule;
}

export interface RuntimeModel {
  model: SegmentationModel;
  /** What ran the network, for the timings and the comparison table. */
  label: string;
  /** For 'fastest': each candidate's time on the image. */
  trials?: RuntimeTrial[];
}

export class PageRuntime {
  choice: RuntimeChoice = 'tfjs';
  private ort: OrtWebModule | null = null;
  private base: SegmentationModel | null = null;
  private readonly twins = new Map<OnnxProvider, OnnxSegmentationModel>();
  private fastest: RuntimeModel | null = null;

  /** The model that runs `base`'s network under the current choice (cached per model). */
  async modelFor(
    base: SegmentationModel,
    meta: CheckpointMeta,
    image: RgbImage,
    settings: InferenceSettings,
    backend: string,
  ): Promise<RuntimeModel> {
    if (base !== this.base) await this.release(base);
    if (this.choice === 'tfjs') return { model: base, label: backend };
    this.ort ??= await loadOrt();
    const { chooseInferenceRuntime, webOnnxRuntime } = await import('./onnx-runtime.js');
    if (this.choice === 'fastest') {
      if (!this.fastest) {
        const { description: _description, ...options } = settings;
        const choice = await chooseInferenceRuntime(base, meta.normalization, this.ort, image, options);
        const label = choice.runtime === 'tfjs' ? backend : `onnxruntime-web (${choice.runtime.slice(5)})`;
        this.fastest = { model: choice.model, label, trials: choice.trials };
      }
      return this.fastest;
    }
    const provider: OnnxProvider = this.choice === 'onnx-webgpu' ? 'webgpu' : 'wasm';
    let twin = this.twins.get(provider);
    if (!twin) {
      const { onnxModelOn } = await import('@semseg/onnx');
      twin = onnxModelOn(webOnnxRuntime(this.ort, provider), base, {
        source: `onnxruntime-web (${provider})`,
      });
      this.twins.set(provider, twin);
    }
    return { model: twin, label: `onnxruntime-web (${provider})` };
  }

  /** Frees the onnxruntime sessions of the previous model (the tfjs model is the page's). */
  async release(next: SegmentationModel | null = null): Promise<void> {
    const previous = this.base;
    const twins = new Set<SegmentationModel>(this.twins.values());
    if (this.fastest && this.fastest.model !== previous) twins.add(this.fastest.model);
    this.twins.clear();
    this.fastest = null;
    this.base = next;
    for (const twin of twins) await (twin as OnnxSegmentationModel).release();
  }

  /**
   * The wasm threads onnxruntime-web runs `run` with, once a session of it exists (it sets
   * `env.wasm.numThreads` back to 1 where the page is not cross-origin isolated); undefined for tfjs.
   */
  threadsOf(run: RuntimeModel): number | undefined {
    if (run.model === this.base || !this.ort) return undefined;
    return this.ort.env.wasm.numThreads;
  }

  /** A new choice: the next run measures or builds again. */
  choose(choice: RuntimeChoice): void {
    this.choice = choice;
    const measured = this.fastest;
    this.fastest = null;
    if (measured && measured.model !== this.base) void (measured.model as OnnxSegmentationModel).release();
  }
}
