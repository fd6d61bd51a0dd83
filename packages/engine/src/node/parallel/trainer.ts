import { type ArchitectureSpec, ConfigError, Rng, type RngState } from '@semseg/core';
import { defaultParameterGroup, parameterGroups, resolveOptimizerConfig } from '../../train/optimizer.js';
import { NonFiniteLossError, type StepResult, Trainer, type TrainerOptions } from '../../train/trainer.js';
import { readState } from './layout.js';
import { ReplicaPool } from './pool.js';
import type { ReplicaStepTimings, StepRequest } from './protocol.js';
import { SharedSlotOptimizer } from './shared-slots.js';

export interface ParallelTrainerOptions extends TrainerOptions {
  /** Replica threads, each computing the gradients of one shard of every batch (at least 1). */
  threads: number;
  /** The model's registered architecture (name and config, as a checkpoint records it). */
  architecture: ArchitectureSpec;
  /** Modules each thread imports to register the architecture (its model package). */
  plugins: readonly string[];
  /** Where the shared arrays live (ReplicaPoolOptions.placement; default 'auto'). */
  placement?: 'auto' | 'buffers';
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
 * is split into `threads` contiguous shards and each thread computes its shard's gradients on its
 * copy of the model. The threads then sum the shards' gradients in shard order and apply the
 * optimiser, each to its own part of the parameters, in place in shared memory (ZeRO's
 * partitioned update, with the same float32 arithmetic as ParameterOptimizer: bit-identical to
 * the single-thread update of the same gradients). The main thread's model mirrors the shared
 * weights after every step; the optimiser's slots are mirrored when read (a checkpoint).
 * The loss is the single-thread loss: each shard divides by the whole batch's labelled-pixel
 * count (exchanged between the threads during the forward), or sums.
 *
 * Batch norm: each shard normalises with its own batch statistics (as DataParallel's replicas),
 * and the running statistics become the mean of the shards' updated ones.
 */
export class ParallelTrainer extends Trainer {
  readonly threads: number;
  /**
   * Milliseconds of the last step by stage: on the main thread, waiting for the threads and
   * mirroring the new weights; the slowest thread's reading the weights, computing (and waiting
   * for the others' counts inside it), writing the
   * gradients, waiting for the others, and summing and updating its part.
   */
  lastTimings: Record<
    'wait' | 'mirror' | 'read' | 'compute' | 'counts' | 'write' | 'barrier' | 'update',
    number
  > | null = null;
  /** Each replica's timings of the last step, in replica order. */
  lastReplicaTimings: ReplicaStepTimings[] = [];
  declare readonly optimizer: SharedSlotOptimizer;
  private constructor(
    options: ParallelTrainerOptions,
    readonly pool: ReplicaPool,
  ) {
    super(options);
    this.threads = options.threads;
    pool.publishWeights();
    this.optimizer.attach(pool.slots, pool.gradLayout);
  }

  protected override createOptimizer(...args: Parameters<Trainer['createOptimizer']>): SharedSlotOptimizer {
    return new SharedSlotOptimizer(...args);
  }

  static async create(options: ParallelTrainerOptions): Promise<ParallelTrainer> {
    // The replicas set their own train/eval modes; frozen-in-eval fine-tuning is single-thread.
    if (options.frozenInEval)
      throw new ConfigError('frozenInEval runs on one thread: train with threads 1 (--threads 1)');
    // The optimiser's settings and multipliers, as the main thread's optimiser resolves them.
    const config = resolveOptimizerConfig(options.optimizer);
    const groupOf = options.parameterGroup;
    const groups = new Map(
      parameterGroups(
        options.model.namedParameters(),
        groupOf ? (entry) => groupOf(entry.name, entry) : defaultParameterGroup,
      ).map(({ entry, group }) => [entry.name, group]),
    );
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
      optimizer: { config, groups },
      ...(options.placement ? { placement: options.placement } : {}),
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
    // Fewer images than threads: the extra threads get no shard this step (they still update).
    const parts = Math.min(this.threads, n);
    const generators = this.model.generatorStates();
    const t0 = performance.now();
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
          parts,
          lr,
          iteration: this.optimizer.iterations + 1,
        };
        const transfer = [request.images.buffer, request.labels.buffer] as ArrayBuffer[];
        if (request.pixelWeights) transfer.push(request.pixelWeights.buffer as ArrayBuffer);
        return pool.request(k, request, 'stepped', transfer);
      }),
    );
    const t1 = performance.now();
    const loss = replies[0]!.loss;
    // A non-finite loss: the threads updated nothing, and the mirror is still the last good step.
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.step + 1, loss);
    this.optimizer.iterations++;
    this.optimizer.markStale();
    readState(this.model, pool.layout, pool.state);
    pool.stateChanged();
    const slowest = (key: keyof ReplicaStepTimings) => Math.max(...replies.map((r) => r.timings[key]));
    this.lastTimings = {
      wait: t1 - t0,
      mirror: performance.now() - t1,
      read: slowest('read'),
      compute: slowest('compute'),
      counts: slowest('counts'),
      write: slowest('write'),
      barrier: slowest('barrier'),
      update: slowest('update'),
    };
    this.lastReplicaTimings = replies.map((r) => r.timings);
    // The next step's shards draw new masks.
    advanceGenerators(this.model);
    this.step++;
    return { step: this.step, loss, lr };
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
