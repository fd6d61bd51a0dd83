import type { Worker } from 'node:worker_threads';
import type { ArchitectureSpec, LossReduction, SegmentationModel } from '@semseg/core';
import { ConfigError, SemsegError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { CrfOption, InferenceOptions, RgbImage } from '../../types.js';
import { barrierBuffer } from './barrier.js';
import type { FusedGroup, FusedOptimizer } from './fused-update.js';
import { type StateLayout, stateLayout, writeState } from './layout.js';
import type { ReplicaInit, ReplicaReply, ReplicaRequest } from './protocol.js';
import { type SharedRegion, allocateShared } from './shared-memory.js';
import { SharedSlotOptimizer } from './shared-slots.js';
import { spawnReplicaWorker } from './spawn.js';
import { updateBuffer } from './update-phase.js';

/** A replica thread that died or failed: the pool stops, naming the thread. */
export class ReplicaError extends SemsegError {
  readonly replica: number;
  constructor(replica: number, replicas: number, detail: string) {
    super(
      'E_REPLICA',
      `replica thread ${replica + 1} of ${replicas} (semseg-replica-${replica + 1}) ${detail}`,
    );
    this.replica = replica;
  }
}

export interface ReplicaPoolOptions {
  /** Replica threads (at least 1). */
  threads: number;
  /** The model whose copies the threads hold (the main thread's: the weights come from it). */
  model: SegmentationModel;
  /** Its registered architecture (a checkpoint's `architecture`). */
  architecture: ArchitectureSpec;
  /**
   * Modules each thread imports before building its model: those that register the architecture
   * (its model package, e.g. '@semseg/fcn', or a file URL).
   */
  plugins: readonly string[];
  /** The threads' backend (the main thread's when it is wasm or cpu). */
  backend?: 'wasm' | 'cpu';
  loss?: { reduction: LossReduction; classWeights?: readonly number[]; ignoreIndex?: number };
  /** The optimiser the replicas apply at the end of each step, with each parameter's multipliers (training only). */
  optimizer?: { config: FusedOptimizer; groups: ReadonlyMap<string, FusedGroup> };
  /**
   * Where the shared arrays live (shared-memory.ts): 'auto' (default) one WebAssembly memory where
   * they fit, so the update runs as a SIMD kernel; 'buffers' separate buffers and the JavaScript
   * update (the same bits; for tests, and what 'auto' falls back to past 4 GiB).
   */
  placement?: 'auto' | 'buffers';
}

interface Pending {
  resolve: (reply: ReplicaReply) => void;
  reject: (error: Error) => void;
}

/** The backends whose work a replica thread can share: the CPU ones. */
export function replicaBackend(name: string = tf.getBackend()): 'wasm' | 'cpu' | null {
  return name === 'wasm' || name === 'cpu' ? name : null;
}

/**
 * Worker threads that each hold a copy of one model (built from its registered architecture in
 * the thread's own tfjs engine and backend) and share its weights with the main thread through
 * shared memory (shared-memory.ts). Requests to a thread are answered in order; a thread that exits or
 * throws breaks the pool with an error naming it.
 */
export class ReplicaPool {
  readonly threads: number;
  readonly layout: StateLayout;
  readonly gradLayout: StateLayout;
  readonly state: SharedRegion;
  readonly gradients: SharedRegion[];
  /** The optimiser's slots (empty when the pool does not train). */
  readonly slots: SharedRegion;
  /** The memory that holds them all, or null where they are separate buffers. */
  readonly memory: WebAssembly.Memory | null;
  private readonly workers: Worker[];
  private readonly pending: Pending[][];
  private broken: Error | null = null;
  private closed = false;
  /** Steps run (the barrier's generation). */
  sequence = 0;
  /** Times the weights were published, and the last publication each thread has read. */
  private published = 0;
  private readonly loaded: number[] = [];
  private readonly inFlight: number[] = [];

  private constructor(
    options: ReplicaPoolOptions,
    readonly model: SegmentationModel,
  ) {
    if (!Number.isInteger(options.threads) || options.threads < 1)
      throw new ConfigError(`threads must be a positive integer, got ${options.threads}`);
    const backend = options.backend ?? replicaBackend();
    if (!backend)
      throw new ConfigError(
        `threads: data-parallel replicas run on the wasm and cpu backends, not ${tf.getBackend()} (use --threads 1)`,
      );
    this.threads = options.threads;
    const entries = model.namedEntries();
    this.layout = stateLayout(entries);
    // Gradients of the trainable tensors first, then the buffers each shard's forward updates.
    this.gradLayout = stateLayout([
      ...entries.filter((e) => e.trainable),
      ...entries.filter((e) => !e.trainable),
    ]);
    const trainable = this.gradLayout.entries.filter((e) => e.trainable);
    const optimizer = options.optimizer;
    const shared = allocateShared(
      {
        state: this.layout.length * 4,
        gradients: this.gradLayout.length * 4,
        replicas: this.threads,
        slots: optimizer ? SharedSlotOptimizer.bufferLength(optimizer.config.type, this.gradLayout) * 4 : 0,
      },
      options.placement ?? 'auto',
    );
    this.state = shared.state;
    this.gradients = shared.gradients;
    this.slots = shared.slots;
    this.memory = shared.memory;
    const groups = trainable.map(
      (e) => optimizer?.groups.get(e.name) ?? { lrMultiplier: 1, decayMultiplier: 1 },
    );
    this.workers = [];
    this.pending = [];
    const barrier = barrierBuffer(this.threads);
    const update = updateBuffer(this.threads, trainable.length);
    for (let k = 0; k < this.threads; k++) {
      const worker = spawnReplicaWorker(`semseg-replica-${k + 1}`);
      this.workers.push(worker);
      this.pending.push([]);
      this.loaded.push(0);
      this.inFlight.push(0);
      worker.on('message', (reply: ReplicaReply) => this.answer(k, reply));
      worker.on('error', (error) => this.fail(k, `failed: ${error.message}`));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(k, `exited with code ${code}`);
      });
      const init: ReplicaInit = {
        type: 'init',
        index: k,
        replicas: this.threads,
        plugins: [...options.plugins],
        backend,
        prod: tf.env().getBool('PROD'),
        architecture: options.architecture,
        layout: this.layout,
        state: this.state,
        gradients: this.gradients,
        gradLayout: this.gradLayout,
        slots: this.slots,
        memory: shared.memory,
        gradientStride: shared.gradientStride,
        update,
        optimizer: optimizer?.config ?? null,
        groups,
        barrier,
        loss: {
          reduction: options.loss?.reduction ?? 'mean',
          ignoreIndex: options.loss?.ignoreIndex ?? 255,
          ...(options.loss?.classWeights ? { classWeights: [...options.loss.classWeights] } : {}),
        },
      };
      worker.postMessage(init);
    }
  }

  /** Starts the threads and waits until each has built its model. */
  static async start(options: ReplicaPoolOptions): Promise<ReplicaPool> {
    const pool = new ReplicaPool(options, options.model);
    try {
      await Promise.all(pool.workers.map((_, k) => pool.expect(k, 'ready')));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Copies the main thread's current weights and buffers into the shared state. */
  publishWeights(): void {
    writeState(this.model, this.layout, this.state);
    this.published++;
  }

  /** The replicas changed the shared state (a training step): a thread predicting next re-reads it. */
  stateChanged(): void {
    this.published++;
  }

  /**
   * Predicts one image on the least busy thread (its weights re-read first if they were
   * published since): the labels, with `probabilities` the probabilities too, and with `crf` the
   * refined labels (and marginals) from a CRF run in that thread. Call `publishWeights()` first.
   */
  async predict(
    image: RgbImage,
    options: InferenceOptions,
    crf: CrfOption | null = null,
    { probabilities = false }: { probabilities?: boolean } = {},
  ): Promise<Extract<ReplicaReply, { type: 'predicted' }>> {
    if (this.published === 0) this.publishWeights();
    let k = 0;
    for (let i = 1; i < this.threads; i++) if (this.inFlight[i]! < this.inFlight[k]!) k = i;
    const reload = this.loaded[k] !== this.published;
    this.loaded[k] = this.published;
    this.inFlight[k]!++;
    try {
      return await this.request(
        k,
        { type: 'predict', image, options, crf, reload, probabilities },
        'predicted',
      );
    } finally {
      this.inFlight[k]!--;
    }
  }

  /** Sends a request to thread k and resolves with its reply (of the expected type). */
  request<T extends ReplicaReply['type']>(
    k: number,
    message: ReplicaRequest,
    expected: T,
    transfer: ArrayBuffer[] = [],
  ): Promise<Extract<ReplicaReply, { type: T }>> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new ConfigError('the replica pool is closed'));
    const answer = this.expect(k, expected);
    this.workers[k]!.postMessage(message, transfer);
    return answer;
  }

  private expect<T extends ReplicaReply['type']>(
    k: number,
    expected: T,
  ): Promise<Extract<ReplicaReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.pending[k]!.push({
        resolve: (reply) => {
          if (reply.type === expected) resolve(reply as Extract<ReplicaReply, { type: T }>);
          else reject(new ReplicaError(k, this.threads, `answered ${reply.type}, expected ${expected}`));
        },
        reject,
      });
    });
  }

  private answer(k: number, reply: ReplicaReply): void {
    if (reply.type === 'error') {
      this.fail(k, `failed: ${reply.message}`, reply);
      return;
    }
    this.pending[k]!.shift()?.resolve(reply);
  }

  /**
   * A thread failed: every waiting request fails with an error naming it (the others may be
   * blocked at the step's barrier, so the pool cannot go on) and the threads are stopped.
   */
  private fail(k: number, detail: string, reply?: Extract<ReplicaReply, { type: 'error' }>): void {
    if (this.broken || this.closed) return;
    // A failure the thread reported keeps its own error type's message (a NonFiniteLossError, a
    // ConfigError); the replica is named either way.
    const error = new ReplicaError(k, this.threads, detail);
    if (reply?.stack) error.stack = `${error.message}\n--- in the thread ---\n${reply.stack}`;
    this.broken = error;
    for (const queue of this.pending) for (const p of queue.splice(0)) p.reject(error);
    void this.terminate();
  }

  private async terminate(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.terminate();
  }
}
