// One fine-tune: a copy of the page's model trained on one image's marks with @semseg/engine's
// Trainer (the loop `semseg train` runs, one step at a time), segmenting the image as it goes.
// The same code runs in the worker and, where the backend cannot start in a worker, on the
// page's thread; `pause` takes effect between steps.
import {
  type CheckpointMeta,
  type SegmentationModel,
  decodeCheckpoint,
  encodeCheckpoint,
  getModelDefinition,
} from '@semseg/core';
import { Trainer, modelFromCheckpoint, predictImageAsync } from '@semseg/engine';
import { normalizeImage } from '@semseg/voc-data';
import './gradients.js';
import { chooseTrainable } from './head.js';
import type { CheckpointBytes, FinetuneEvent, FinetuneInput } from './protocol.js';

export type Emit = (event: FinetuneEvent) => void;

/** Lets the event loop run (messages, paints) between steps. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class FinetuneJob {
  private model: SegmentationModel | null = null;
  private meta: CheckpointMeta | null = null;
  private trainer: Trainer | null = null;
  private paused = false;
  private wake: (() => void) | null = null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly input: FinetuneInput,
    private readonly emit: Emit,
    private readonly yieldNow: () => Promise<void> = yieldToEventLoop,
  ) {}

  /** Loads the model copy, then trains `steps` steps; errors are events, not throws. */
  run(backend: string): Promise<void> {
    this.running = this.train(backend).catch((error: unknown) => {
      this.emit({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    });
    return this.running;
  }

  private async train(backend: string): Promise<void> {
    const { checkpoint, image, labels, settings } = this.input;
    if (labels.length !== image.width * image.height)
      throw new Error(`${labels.length} labels for a ${image.width}x${image.height} image`);
    if (!labels.some((value) => value !== 255))
      throw new Error('nothing is marked: brush some pixels or drop a label PNG first');
    const decoded = decodeCheckpoint(checkpoint.modelJsonText, checkpoint.weights, {
      modelJson: 'the page model',
      weights: 'the page model weights',
    });
    const { model, meta } = modelFromCheckpoint(decoded, 'the page model');
    this.model = model;
    this.meta = meta;
    const trainable = chooseTrainable(model, settings.layers);
    const definition = getModelDefinition(meta.architecture.name);
    // As `semseg train` builds it: the architecture's parameter groups (Caffe's lr/decay
    // multipliers), Adam without weight decay (a few steps on one image), a fixed rate.
    this.trainer = new Trainer({
      model,
      optimizer: { type: 'adam', weightDecay: 0 },
      schedule: { policy: 'fixed', baseLr: settings.learningRate, maxSteps: settings.steps },
      // Head only: the frozen layers' batch norms keep the statistics they were trained with.
      frozenInEval: settings.layers === 'head',
      ...(definition.parameterGroup ? { parameterGroup: definition.parameterGroup } : {}),
    });
    this.emit({
      type: 'ready',
      backend,
      trainable: { tensors: trainable.names.length, scalars: trainable.scalars, total: trainable.total },
    });
    const pixels = normalizeImage(image.data, meta.normalization);
    await this.preview(0);
    while (this.trainer.step < settings.steps) {
      await this.waitWhilePaused();
      if (this.stopped) break;
      const start = performance.now();
      const result = await this.trainer.trainStep(pixels, labels, [1, image.height, image.width]);
      this.emit({ type: 'step', ...result, milliseconds: performance.now() - start });
      if (result.step % settings.previewEvery === 0 || result.step === settings.steps) {
        await this.preview(result.step);
      }
      await this.yieldNow();
    }
    this.emit({ type: 'done', step: this.trainer.step });
  }

  private async preview(step: number): Promise<void> {
    const model = this.model!;
    model.eval();
    const prediction = await predictImageAsync(model, this.input.image, {
      normalization: this.meta!.normalization,
    });
    this.emit({ type: 'prediction', step, labels: prediction.labels });
  }

  private async waitWhilePaused(): Promise<void> {
    if (!this.paused || this.stopped) return;
    this.emit({ type: 'paused', step: this.trainer?.step ?? 0 });
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (!this.stopped) this.emit({ type: 'resumed', step: this.trainer?.step ?? 0 });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
    this.wake = null;
  }

  /** Ends the run after the current step. */
  stop(): void {
    this.stopped = true;
    this.resume();
  }

  /** The fine-tuned model as a semseg checkpoint (model.json + weights.bin, as the CLI writes). */
  async exportCheckpoint(): Promise<CheckpointBytes> {
    if (!this.model || !this.meta) throw new Error('no fine-tuned model yet');
    const encoded = await encodeCheckpoint(this.model.stateDict(), { ...this.meta, training: null });
    return { modelJsonText: `${JSON.stringify(encoded.modelJson, null, 2)}\n`, weights: encoded.weights };
  }

  /** Stops after the current step, then frees the model copy and the optimiser state. */
  async dispose(): Promise<void> {
    this.stop();
    await this.running;
    this.trainer?.dispose();
    this.model?.dispose();
    this.trainer = null;
    this.model = null;
  }
}
