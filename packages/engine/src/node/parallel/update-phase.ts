// The end of a data-parallel step, run by every replica thread at once: they publish their
// shard's loss and which tensors got gradients, wait for each other, and each then sums the
// shards' gradients over its own part of the parameters (in shard order, as one thread would)
// and applies the optimiser to that part of the shared weights and slots (ZeRO's partitioned
// update). No thread sums or updates everything, and the main thread only mirrors the result.
import { type FusedGroup, type FusedOptimizer, fusedUpdate } from './fused-update.js';
import { type LayoutEntry, type StateLayout, entryAddress, entryView } from './layout.js';
import type { SharedRegion } from './shared-memory.js';
import type { UpdateKernel } from './update-kernel.js';

/** Int32 words before the losses: [arrivals, unused] (the losses start 8-byte aligned). */
const HEADER_WORDS = 2;

/**
 * The shared buffer of the update phase: arrivals, each replica's loss, its deferred count and
 * minimum divisor (two float64), its has-gradient flags.
 */
export function updateBuffer(replicas: number, trainableEntries: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_WORDS * 4 + replicas * 8 * 3 + replicas * trainableEntries * 4);
}

export interface UpdateContext {
  replicas: number;
  index: number;
  buffer: SharedArrayBuffer;
  /** Every replica's gradient region (by `gradLayout`), in replica order. */
  gradients: SharedRegion[];
  gradLayout: StateLayout;
  /** The weights and buffers (by `layout`) and the optimiser's slots (by the trainable entries of `gradLayout`). */
  state: SharedRegion;
  layout: StateLayout;
  slots: SharedRegion;
  /**
   * The SIMD update over the shared memory that holds all of these (the gradients `gradientStride`
   * bytes apart); null: the JavaScript loops, which give the same bits.
   */
  kernel: UpdateKernel | null;
  gradientStride: number;
  optimizer: FusedOptimizer;
  /** Multipliers of each trainable entry of `gradLayout`, in order. */
  groups: FusedGroup[];
}

export interface UpdateStep {
  /** 1-based step of the pool (the barrier's generation). */
  sequence: number;
  /** Replicas that had images this step (the first `parts`). */
  parts: number;
  lr: number;
  /** The update's 1-based count (Adam's bias correction). */
  iteration: number;
  loss: number;
  /**
   * A loss left undivided (shard-loss.ts `defer`): this shard's count and the minimum divisor;
   * the update divides the summed gradients and the loss by the batch's divisor. Null: the loss
   * was divided already. Every replica of a step agrees on which.
   */
  deferred: { count: number; minimum: number } | null;
  /** This replica's trainable entries (indices into gradLayout) that got a gradient. */
  hasGradient: boolean[];
}

export interface UpdateResult {
  /** The batch's loss, summed in replica order; not finite: nothing was updated. */
  loss: number;
  /** Milliseconds waiting for the other replicas, then summing and updating this replica's part. */
  waited: number;
  updated: number;
}

/**
 * Publishes this replica's loss and gradient flags, waits for all replicas, and (when the batch's
 * loss is finite) updates this replica's part of the parameters; a non-finite loss leaves every
 * weight, slot and buffer untouched.
 */
export function runUpdatePhase(context: UpdateContext, step: UpdateStep): UpdateResult {
  const started = performance.now();
  const { replicas, index, buffer, gradLayout } = context;
  const trainable = gradLayout.entries.filter((e) => e.trainable);
  const control = new Int32Array(buffer, 0, HEADER_WORDS);
  const losses = new Float64Array(buffer, HEADER_WORDS * 4, replicas);
  const counts = new Float64Array(buffer, HEADER_WORDS * 4 + replicas * 8, replicas * 2);
  const flags = new Int32Array(buffer, HEADER_WORDS * 4 + replicas * 8 * 3, replicas * trainable.length);
  losses[index] = step.loss;
  counts[index * 2] = step.deferred?.count ?? 0;
  counts[index * 2 + 1] = step.deferred?.minimum ?? 0;
  for (let e = 0; e < trainable.length; e++)
    flags[index * trainable.length + e] = step.hasGradient[e] ? 1 : 0;
  Atomics.add(control, 0, 1);
  Atomics.notify(control, 0);
  const target = step.sequence * replicas;
  for (;;) {
    const arrived = Atomics.load(control, 0);
    if (arrived >= target) break;
    Atomics.wait(control, 0, arrived);
  }
  const arrived = performance.now();
  let total = 0;
  for (let k = 0; k < step.parts; k++) total += losses[k]!;
  // The divisor of a deferred 'mean' loss: the batch's count (the single-thread one, shard-loss.ts).
  let scale = 1;
  if (step.deferred) {
    let count = 0;
    for (let k = 0; k < step.parts; k++) count += counts[k * 2]!;
    const minimum = counts[1]!; // the same on every shard
    scale = 1 / (count === 0 ? 1 : Math.max(count, minimum));
    total *= scale;
  }
  if (!Number.isFinite(total)) return { loss: total, waited: arrived - started, updated: 0 };
  const anyGradient = trainable.map((_, e) => {
    for (let k = 0; k < step.parts; k++) if (flags[k * trainable.length + e]) return true;
    return false;
  });
  updatePart(context, step, anyGradient, scale);
  return { loss: total, waited: arrived - started, updated: performance.now() - arrived };
}

/**
 * This replica's contiguous part of `gradLayout`'s elements: summed (the gradients times `scale`),
 * then updated or averaged.
 */
function updatePart(context: UpdateContext, step: UpdateStep, anyGradient: boolean[], scale: number): void {
  const { replicas, index, gradients, gradLayout, state, layout, slots, optimizer, groups, kernel } = context;
  const from = Math.floor((index * gradLayout.length) / replicas);
  const to = Math.floor(((index + 1) * gradLayout.length) / replicas);
  const stateEntries = new Map(layout.entries.map((e) => [e.name, e]));
  const secondBase = gradLayout.entries.filter((e) => e.trainable).reduce((n, e) => n + e.size, 0);
  let trainableIndex = -1;
  for (const entry of gradLayout.entries) {
    if (entry.trainable) trainableIndex++;
    const lo = Math.max(from, entry.offset) - entry.offset;
    const hi = Math.min(to, entry.offset + entry.size) - entry.offset;
    if (hi <= lo) continue;
    const stateEntry = stateEntries.get(entry.name)!;
    const target = entryView(state, stateEntry);
    if (entry.dtype === 'int32') {
      // Counters (batches tracked): every shard counted the same step.
      target.set(entryView(gradients[0]!, entry).subarray(lo, hi), lo);
      continue;
    }
    if (entry.trainable && !anyGradient[trainableIndex]) continue;
    if (!entry.trainable) {
      // Running statistics: the mean of the shards' updates.
      const sum = sumShards(gradients, entry, step.parts, lo, hi);
      const weights = target as Float32Array;
      for (let i = lo; i < hi; i++) weights[i] = step.parts === 1 ? sum[i - lo]! : sum[i - lo]! / step.parts;
      continue;
    }
    if (kernel) {
      kernel.apply(optimizer, groups[trainableIndex]!, step.lr, step.iteration, {
        weights: entryAddress(state, stateEntry) + lo * 4,
        gradients: entryAddress(gradients[0]!, entry) + lo * 4,
        gradientStride: context.gradientStride,
        shards: step.parts,
        first: entryAddress(slots, entry) + lo * 4,
        second: optimizer.type === 'adam' ? entryAddress(slots, entry, secondBase) + lo * 4 : 0,
        count: hi - lo,
        scale,
      });
      continue;
    }
    const shards = gradients
      .slice(0, step.parts)
      .map((buffer) => (entryView(buffer, entry) as Float32Array).subarray(lo, hi));
    fusedUpdate(optimizer, groups[trainableIndex]!, step.lr, step.iteration, {
      weights: (target as Float32Array).subarray(lo, hi),
      gradients: shards,
      first: (entryView(slots, entry) as Float32Array).subarray(lo, hi),
      second:
        optimizer.type === 'adam'
          ? (entryView(slots, entry, secondBase) as Float32Array).subarray(lo, hi)
          : null,
      from: 0,
      to: hi - lo,
      scale,
    });
  }
}

/** Elements [lo, hi) of one entry summed over the first `parts` shards, in shard order (float32). */
function sumShards(
  gradients: SharedRegion[],
  entry: LayoutEntry,
  parts: number,
  lo: number,
  hi: number,
): Float32Array {
  const sum = (entryView(gradients[0]!, entry) as Float32Array).slice(lo, hi);
  for (let k = 1; k < parts; k++) {
    const g = (entryView(gradients[k]!, entry) as Float32Array).subarray(lo, hi);
    for (let i = 0; i < sum.length; i++) sum[i] += g[i]!;
  }
  return sum;
}
