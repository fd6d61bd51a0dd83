import { type ArchitectureSpec, ConfigError, Rng, type RngState } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteLossError, type StepResult, Trainer, type TrainerOptions } from '../../train/trainer.js';
import { entryView } from './layout.js';
import { ReplicaPool } from './pool.js';
import type { StepRequest } from './protocol.js';

export interface ParallelTrainerOptions extends TrainerOptions {
  /** Replica threads, each computing the gradients of one shard of every batch (at least 1). */
  threads: number;
  /** The model's registered architecture (name and config, as a checkpoint records it). */
  architecture: ArchitectureSpec;
  /** Modules each thread imports to register the architecture (its model package). */
  plugins: readonly string[];
}

/** The images of shard k of a batch of n split into `parts`: contiguous, sizes differing by at most 1. */
export function shardRange(n: number, parts: number, k: number): [number, number] {
  return [Math.floor((k * n) / parts), Math.floor(((k + 1) * n) / parts)];
}

/**
 * A shard's dropout generators for one step: derived from the model's generators (which the main
 * thread then advances, and a checkpoint saves), so that a given seed and thread count always
 * draw the same masks, and a resumed run draws what the uninterrupted one did.
 */
export function shardGenerators(states: Record<string, RngState>, shard: number): Record<string, RngState> {
  const out: Record<string, RngState> = {};
  for (const [name, state] of Object.entries(states))
    out[name] = Rng.fromState(state).derive(`replica-${shard}`).getState();
  return out;
}

/**
 * Data-parallel training over worker threads (PyTorch's DataParallel, on CPU backends): the batch
 * is split into `threads` contiguous shards, each thread computes its shard's gradients on its
 * copy of the model, the main thread sums them in shard order, takes one optimiser step with the
 * same ParameterOptimizer as the single-thread Trainer, and publishes the new weights through
 * shared memory. The loss is the single-thread loss: each shard divides by the whole batch's
 * labelled-pixel count (exchanged between the threads during the forward), or sums.
 *
 * Batch norm: each shard normalises with its own batch statistics (as DataParallel's replicas),
 * and the running statistics become the mean of the shards' updated ones.
 */
export class ParallelTrainer extends Trainer {
  readonly threads: number;
  /** Milliseconds of the last step by stage (main: publish, wait, apply; slowest thread: read, compute, write). */
  lastTimings: Record<'publish' | 'wait' | 'apply' | 'read' | 'compute' | 'write', number> | null = null;
  private constructor(
    options: ParallelTrainerOptions,
    readonly pool: ReplicaPool,
  ) {
    super(options);
    this.threads = options.threads;
  }

  static async create(options: ParallelTrainerOptions): Promise<ParallelTrainer> {
    // The replicas set their own train/eval modes; frozen-in-eval fine-tuning is single-thread.
    if (options.frozenInEval)
      throw new ConfigError('frozenInEval runs on one thread: train with threads 1 (--threads 1)');
    const pool = await ReplicaPool.start({
      threads: options.threads,
      model: options.model,
      architecture: options.architecture,
      plugins: options.plugins,
      loss: {
        reduction: options.lossReduction ?? 'mean',
        ...(options.classWeights ? { classWeights: options.classWeights } : {}),
        ...(options.ignoreIndex !== undefined ? { ignoreIndex: options.ignoreIndex } : {}),
      },
    });
    return new ParallelTrainer(options, pool);
  }

  override async trainStep(
    images: Float32Array,
    labels: Uint8Array,
    shape: readonly [number, number, number],
    extra: { pixelWeights?: Float32Array } = {},
  ): Promise<StepResult> {
    const [n, h, w] = shape;
    const lr = this.lr;
    const pool = this.pool;
    // Fewer images than threads: the extra threads get no shard this step.
    const parts = Math.min(this.threads, n);
    const generators = this.model.generatorStates();
    const t0 = performance.now();
    pool.publishWeights();
    const t1 = performance.now();
    pool.sequence++;
    const pixels = h * w;
    const replies = await Promise.all(
      Array.from({ length: this.threads }, (_, k) => {
        const [from, to] = k < parts ? shardRange(n, parts, k) : [0, 0];
        const request: StepRequest = {
          type: 'step',
          sequence: pool.sequence,
          images: images.slice(from * pixels * 3, to * pixels * 3),
          labels: labels.slice(from * pixels, to * pixels),
          shape: [to - from, h, w],
          ...(extra.pixelWeights
            ? { pixelWeights: extra.pixelWeights.slice(from * pixels, to * pixels) }
            : {}),
          generators: shardGenerators(generators, k),
        };
        const transfer = [request.images.buffer, request.labels.buffer] as ArrayBuffer[];
        if (request.pixelWeights) transfer.push(request.pixelWeights.buffer as ArrayBuffer);
        return pool.request(k, request, 'stepped', transfer);
      }),
    );
    const t2 = performance.now();
    let loss = 0;
    for (let k = 0; k < parts; k++) loss += replies[k]!.loss;
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.step + 1, loss);
    this.applyShards(
      parts,
      replies.map((r) => new Set(r.noGradient)),
      lr,
    );
    const slowest = (key: 'read' | 'compute' | 'write') => Math.max(...replies.map((r) => r.timings[key]));
    this.lastTimings = {
      publish: t1 - t0,
      wait: t2 - t1,
      apply: performance.now() - t2,
      read: slowest('read'),
      compute: slowest('compute'),
      write: slowest('write'),
    };
    // The next step's shards draw new masks.
    advanceGenerators(this.model);
    this.step++;
    return { step: this.step, loss, lr };
  }

  /** Sums the shards' gradients in shard order, steps the optimiser, averages the buffers. */
  private applyShards(parts: number, noGradient: Set<string>[], lr: number): void {
    const pool = this.pool;
    const variables = new Map(this.model.namedEntries().map((e) => [e.name, e.variable]));
    const grads: tf.NamedTensorMap = {};
    try {
      for (const entry of pool.gradLayout.entries) {
        if (entry.trainable && noGradient.slice(0, parts).every((set) => set.has(entry.name))) continue;
        const variable = variables.get(entry.name)!;
        if (!entry.trainable && entry.dtype === 'int32') {
          // Counters (batches tracked): every shard counted the same step.
          variable.assign(tf.tensor(entryView(pool.gradients[0]!, entry).slice(), entry.shape, 'int32'));
          continue;
        }
        const sum = new Float32Array(entryView(pool.gradients[0]!, entry) as Float32Array);
        for (let k = 1; k < parts; k++) {
          const g = entryView(pool.gradients[k]!, entry) as Float32Array;
          for (let i = 0; i < sum.length; i++) sum[i] += g[i]!;
        }
        if (entry.trainable) grads[variable.name] = tf.tensor(sum, entry.shape, 'float32');
        else {
          // Running statistics: the mean of the shards' updates.
          const mean = parts === 1 ? sum : sum.map((v) => v / parts);
          tf.tidy(() => variable.assign(tf.tensor(mean, entry.shape, 'float32')));
        }
      }
      this.optimizer.apply(grads, lr);
    } finally {
      tf.dispose(Object.values(grads));
    }
  }

  /** Stops the replica threads (the model and optimiser stay usable on the main thread). */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Advances each of the model's generators by one draw (through its saved states). */
function advanceGenerators(model: Trainer['model']): void {
  const advanced: Record<string, RngState> = {};
  for (const [name, state] of Object.entries(model.generatorStates())) {
    const rng = Rng.fromState(state);
    rng.nextUint32();
    advanced[name] = rng.getState();
  }
  model.loadGeneratorStates(advanced);
}
