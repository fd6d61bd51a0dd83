// Data-parallel replicas of a model in worker threads: training (ParallelTrainer) and
// evaluation / prediction (ReplicaPool) on every core of the CPU backends.
import type { ArchitectureSpec } from '@semseg/core';
import { ConfigError } from '@semseg/core';
import { Trainer, type TrainerOptions } from '../../train/trainer.js';
import { replicaBackend } from './pool.js';
import { ParallelTrainer } from './trainer.js';

export { evaluateOnReplicas, type ReplicaEvaluation } from './evaluate.js';
export { ReplicaError, ReplicaPool, type ReplicaPoolOptions, replicaBackend } from './pool.js';
export { ParallelTrainer, type ParallelTrainerOptions, shardGenerators, shardRange } from './trainer.js';

export interface ThreadsOptions {
  /** Threads to use; 1 (or undefined) keeps everything on the calling thread. */
  threads?: number;
  /** Modules that register the architecture in a fresh thread (its model package). */
  plugins?: readonly string[];
}

/**
 * The thread count that applies on the current backend: replicas share the work of the CPU
 * backends (wasm, cpu); a GPU backend keeps one thread.
 */
export function effectiveThreads(threads: number | undefined): number {
  if (threads === undefined || threads <= 1) return 1;
  if (!(Number.isInteger(threads) && threads > 0))
    throw new ConfigError(`threads must be a positive integer, got ${threads}`);
  return replicaBackend() ? threads : 1;
}

/** A Trainer on the calling thread, or a ParallelTrainer over `threads` replica threads. */
export async function createTrainer(
  options: TrainerOptions & ThreadsOptions & { architecture: ArchitectureSpec },
): Promise<Trainer> {
  const threads = effectiveThreads(options.threads);
  if (threads === 1) return new Trainer(options);
  return ParallelTrainer.create({
    ...options,
    threads,
    plugins: requirePlugins(options, options.architecture),
  });
}

/** Stops a ParallelTrainer's threads (nothing for a Trainer). */
export async function closeTrainer(trainer: Trainer): Promise<void> {
  if (trainer instanceof ParallelTrainer) await trainer.close();
}

export function requirePlugins(options: ThreadsOptions, architecture: ArchitectureSpec): readonly string[] {
  if (!options.plugins || options.plugins.length === 0)
    throw new ConfigError(
      `threads ${options.threads}: the replica threads need the module(s) that register model '${architecture.name}' (plugins)`,
    );
  return options.plugins;
}
