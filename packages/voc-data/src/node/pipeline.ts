import { join } from 'node:path';
import type { AugmentOptions } from '../augment.js';
import type { EvalTransformOptions } from '../eval-transform.js';
import { meanPixel } from '../normalize.js';
import { EpochPlan, type PlannedSample, shardItems } from '../sampler.js';
import type { PadFill } from '../transforms.js';
import type { DataPosition, Normalization, ShardSpec } from '../types.js';
import type { SegmentationDataset } from './dataset.js';
import { fileForId } from './paths.js';
import { type ProcessedSample, type SampleJob, processSample } from './process-sample.js';
import { WorkerPool } from './worker-pool.js';

/** A batch, ready to become tensors: images N x H x W x 3 (normalised), labels N x H x W. */
export interface Batch {
  images: Float32Array;
  labels: Uint8Array;
  /** Instance ids per pixel, laid out as `labels` (with `instances` on). */
  instances?: Uint16Array;
  ids: string[];
  batchSize: number;
  height: number;
  width: number;
  epoch: number;
  /** Where the next batch starts: save this in a checkpoint and pass it back as `start` to resume. */
  position: DataPosition;
  /** Per sample: original size and the valid (unpadded) region, for mapping eval predictions back. */
  sizes: { originalWidth: number; originalHeight: number; validWidth: number; validHeight: number }[];
}

export interface PipelineOptions {
  batchSize: number;
  normalization: Normalization;
  /** 'train': augment, shuffle, drop the last partial batch. 'eval': eval transform, in order, keep it. */
  mode: 'train' | 'eval';
  /** Training augmentation (train mode); scale defaults to [0.5, 2.0], flip to 0.5, fill to the mean pixel. */
  augment?: Omit<AugmentOptions, 'fill' | 'scaleRange'> & {
    scaleRange?: readonly [number, number];
    fill?: PadFill;
  };
  /** Eval geometry (eval mode); fill defaults to the mean pixel. Batches of more than one need `padTo`. */
  eval?: Omit<EvalTransformOptions, 'fill'> & { fill?: PadFill };
  seed?: number | string;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Epochs to run, counted from epoch 0 (default 1; Infinity runs until closed). */
  epochs?: number;
  /** Resume here (a `Batch.position` or `pipeline.position` saved earlier). */
  start?: DataPosition;
  /** Batches prepared ahead of the consumer (default 2). */
  prefetch?: number;
  /** Worker threads that decode and augment (default 0: the main thread, with sharp decoding off-thread). */
  workers?: number;
  /** Use only this shard of the dataset's ids. */
  shard?: ShardSpec;
  /**
   * Batches carry instance ids (train mode): from `<root>/<dir>/<id>.png` (VOC's
   * SegmentationObject by default) where it exists, else the label's connected components.
   */
  instances?: boolean | { dir?: string };
}

interface Queued {
  batch: Promise<Batch>;
}

/**
 * A prefetching batch iterator over a dataset: `for await (const batch of pipeline) { ... }`.
 * Sample augmentations are a function of (seed, epoch, index), so they do not depend on the
 * number of workers or on timing, and resuming from a saved position reproduces the same batches.
 */
export class BatchPipeline implements AsyncIterable<Batch> {
  private readonly plan: EpochPlan;
  private readonly ids: readonly string[];
  private readonly queue: Queued[] = [];
  private readonly prefetch: number;
  private readonly pool: WorkerPool | undefined;
  private readonly makeJob: (planned: PlannedSample) => SampleJob;
  private consumed: DataPosition;
  private exhausted = false;
  private closed = false;

  constructor(dataset: SegmentationDataset, options: PipelineOptions) {
    this.ids = options.shard ? shardItems(dataset.ids, options.shard) : dataset.ids;
    const train = options.mode === 'train';
    if (train && !options.augment) throw new TypeError('train mode needs augment: { cropSize }');
    if (!train && options.batchSize > 1 && !options.eval?.padTo) {
      throw new TypeError('eval batches of more than one image need eval.padTo (images differ in size)');
    }
    this.plan = new EpochPlan({
      length: this.ids.length,
      batchSize: options.batchSize,
      seed: options.seed ?? 0,
      shuffle: options.shuffle ?? train,
      dropLast: options.dropLast ?? train,
      epochs: options.epochs ?? 1,
      start: options.start,
    });
    this.consumed = this.plan.position;
    this.prefetch = Math.max(1, options.prefetch ?? 2);
    const workers = options.workers ?? 0;
    this.pool = workers > 0 ? new WorkerPool(workers) : undefined;
    const fill = meanPixel(options.normalization);
    const transform: SampleJob['transform'] = train
      ? {
          mode: 'train',
          augment: {
            cropSize: options.augment!.cropSize,
            scaleRange: options.augment!.scaleRange ?? [0.5, 2.0],
            flipProbability: options.augment!.flipProbability ?? 0.5,
            catMaxRatio: options.augment!.catMaxRatio ?? 1,
            ...(options.augment!.photometric ? { photometric: true } : {}),
            fill: options.augment!.fill ?? fill,
          },
        }
      : { mode: 'eval', eval: { ...options.eval, fill: options.eval?.fill ?? fill } };
    const seed = options.seed ?? 0;
    const instanceDir =
      train && options.instances
        ? join(
            dataset.root,
            (typeof options.instances === 'object' && options.instances.dir) || 'SegmentationObject',
          )
        : null;
    const sourceOf = (id: string) => {
      const source = dataset.source(id);
      if (instanceDir === null) return source;
      const instancePath = fileForId(instanceDir, id, dataset.layout.labelExtension, source.listFile);
      return { ...source, instancePath };
    };
    this.makeJob = (planned) => ({
      source: sourceOf(this.ids[planned.item]),
      normalization: options.normalization,
      seed,
      epoch: planned.epoch,
      index: planned.index,
      transform,
    });
  }

  /** Where the batch after the last one handed out starts (what to save for resuming). */
  get position(): DataPosition {
    return { ...this.consumed };
  }

  /** The next batch, or undefined after the last epoch. */
  async next(): Promise<Batch | undefined> {
    if (this.closed) return undefined;
    this.fill();
    const head = this.queue.shift();
    if (!head) {
      await this.close();
      return undefined;
    }
    this.fill(); // keep `prefetch` batches in flight while the caller works on this one
    const batch = await head.batch;
    this.consumed = batch.position;
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    try {
      for (;;) {
        const batch = await this.next();
        if (!batch) return;
        yield batch;
      }
    } finally {
      await this.close();
    }
  }

  /** Stops the workers; batches still in flight are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    await this.pool?.close();
  }

  private fill(): void {
    while (!this.exhausted && this.queue.length < this.prefetch) {
      const planned = this.plan.nextBatch();
      if (!planned) {
        this.exhausted = true;
        return;
      }
      const position = this.plan.position;
      const batch = this.assemble(planned, position);
      batch.catch(() => {}); // a failure is reported when this batch is consumed, not as unhandled
      this.queue.push({ batch });
    }
  }

  private async assemble(planned: PlannedSample[], position: DataPosition): Promise<Batch> {
    const run = (job: SampleJob): Promise<ProcessedSample> =>
      this.pool ? this.pool.run(job) : processSample(job);
    const samples = await Promise.all(planned.map((p) => run(this.makeJob(p))));
    const { width, height } = samples[0];
    for (const sample of samples) {
      if (sample.width !== width || sample.height !== height) {
        throw new RangeError(
          `samples of one batch differ in size (${sample.id} is ${sample.width}x${sample.height}, ${samples[0].id} is ${width}x${height})`,
        );
      }
    }
    const pixels = width * height;
    const images = new Float32Array(samples.length * pixels * 3);
    const labels = new Uint8Array(samples.length * pixels);
    const instances = samples[0].instances ? new Uint16Array(samples.length * pixels) : undefined;
    samples.forEach((sample, k) => {
      images.set(sample.image, k * pixels * 3);
      labels.set(sample.label, k * pixels);
      if (instances) instances.set(sample.instances!, k * pixels);
    });
    return {
      images,
      labels,
      ...(instances ? { instances } : {}),
      ids: samples.map((s) => s.id),
      batchSize: samples.length,
      height,
      width,
      epoch: planned[0].epoch,
      position,
      sizes: samples.map(({ originalWidth, originalHeight, validWidth, validHeight }) => ({
        originalWidth,
        originalHeight,
        validWidth,
        validHeight,
      })),
    };
  }
}

export function createBatchPipeline(dataset: SegmentationDataset, options: PipelineOptions): BatchPipeline {
  return new BatchPipeline(dataset, options);
}
