// The data-parallel trainer's optimiser: its slots (momentum, Adam's moments) live in shared
// memory, where the replica threads update them in place with the weights (fused-update.ts). The
// tfjs slot variables are a mirror, refreshed only when read (a checkpoint) and pushed back when
// loaded (a resume), so a step costs no copy of them.
import * as tf from '@tensorflow/tfjs-core';
import { ParameterOptimizer } from '../../train/optimizer.js';
import { type StateLayout, entryView } from './layout.js';
import type { SharedRegion } from './shared-memory.js';

export class SharedSlotOptimizer extends ParameterOptimizer {
  private shared: { buffer: SharedRegion; layout: StateLayout; secondBase: number } | null = null;
  private stale = false;

  /** Elements of the shared slot buffer for `layout`'s trainable entries (two slots for Adam). */
  static bufferLength(type: ParameterOptimizer['config']['type'], layout: StateLayout): number {
    const trainable = layout.entries.filter((e) => e.trainable).reduce((n, e) => n + e.size, 0);
    return type === 'adam' ? 2 * trainable : trainable;
  }

  /** Binds the slots to `buffer` (laid out as `layout`'s trainable entries) and writes them there. */
  attach(buffer: SharedRegion, layout: StateLayout): void {
    const secondBase = layout.entries.filter((e) => e.trainable).reduce((n, e) => n + e.size, 0);
    this.shared = { buffer, layout, secondBase };
    this.push();
  }

  /** The replicas changed the slots (a step ran): the mirror is refreshed before it is next read. */
  markStale(): void {
    this.stale = true;
  }

  override apply(): void {
    throw new Error('SharedSlotOptimizer: the replica threads apply the updates (fused-update.ts)');
  }

  override state(): ReturnType<ParameterOptimizer['state']> {
    if (this.stale) this.pull();
    return super.state();
  }

  override loadState(...args: Parameters<ParameterOptimizer['loadState']>): void {
    super.loadState(...args);
    this.stale = false;
    this.push();
  }

  private *pairs(): Generator<{ variable: tf.Variable; view: Float32Array }> {
    const shared = this.shared;
    if (!shared) return;
    const byName = new Map(shared.layout.entries.filter((e) => e.trainable).map((e) => [e.name, e]));
    for (const slot of this.slots) {
      const entry = byName.get(slot.entry.name);
      if (!entry) throw new Error(`SharedSlotOptimizer: ${slot.entry.name} is not in the shared layout`);
      yield { variable: slot.first, view: entryView(shared.buffer, entry) as Float32Array };
      if (slot.second)
        yield {
          variable: slot.second,
          view: entryView(shared.buffer, entry, shared.secondBase) as Float32Array,
        };
    }
  }

  private push(): void {
    for (const { variable, view } of this.pairs()) view.set(variable.dataSync() as Float32Array);
  }

  private pull(): void {
    for (const { variable, view } of this.pairs()) {
      const values = view.slice();
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
    }
    this.stale = false;
  }
}
