import { ConfigError, type Module } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { SharedRegion } from './shared-memory.js';

/** One tensor of a model's state in a shared buffer: 4-byte elements at `offset` (in elements). */
export interface LayoutEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  trainable: boolean;
  offset: number;
  size: number;
}

/**
 * Where each of a model's parameters and buffers sits in one flat shared region, in the
 * order of `namedEntries()` (the same in every replica built from the same architecture).
 */
export interface StateLayout {
  entries: LayoutEntry[];
  /** Elements in all. */
  length: number;
}

type Entries = ReturnType<Module['namedEntries']>;

export function stateLayout(
  entries: Entries,
  filter: (e: Entries[number]) => boolean = () => true,
): StateLayout {
  const out: LayoutEntry[] = [];
  let offset = 0;
  for (const e of entries) {
    if (!filter(e)) continue;
    const dtype = e.variable.dtype;
    if (dtype !== 'float32' && dtype !== 'int32')
      throw new ConfigError(
        `parameter ${e.name} is ${dtype}; data-parallel training handles float32 and int32`,
      );
    out.push({
      name: e.name,
      shape: [...e.variable.shape],
      dtype,
      trainable: e.trainable,
      offset,
      size: e.variable.size,
    });
    offset += e.variable.size;
  }
  return { entries: out, length: offset };
}

/** Byte address of an entry's first element in its region's buffer (`base` elements further on). */
export function entryAddress(region: SharedRegion, entry: LayoutEntry, base = 0): number {
  return region.byteOffset + (base + entry.offset) * 4;
}

/** The elements of one entry in a shared region, typed as the entry. */
export function entryView(region: SharedRegion, entry: LayoutEntry, base = 0): Float32Array | Int32Array {
  const start = entryAddress(region, entry, base);
  return entry.dtype === 'int32'
    ? new Int32Array(region.buffer, start, entry.size)
    : new Float32Array(region.buffer, start, entry.size);
}

/** The layouts must name the same tensors with the same shapes (replicas of one architecture). */
export function checkSameLayout(expected: StateLayout, actual: StateLayout, where: string): void {
  const describe = (e: LayoutEntry) =>
    `${e.name}[${e.shape}]${e.dtype === 'int32' ? ':int32' : ''}${e.trainable ? '' : ':frozen'}`;
  const a = expected.entries.map(describe);
  const b = actual.entries.map(describe);
  const diff = a.findIndex((x, i) => x !== b[i]);
  if (a.length !== b.length || diff >= 0) {
    const at = diff >= 0 ? diff : Math.min(a.length, b.length);
    throw new ConfigError(
      `${where}: the replica's model differs from the main thread's at tensor ${at} (${a[at] ?? 'none'} there, ${b[at] ?? 'none'} here)`,
    );
  }
}

interface HeapBackend {
  typedArrayFromHeap(tensor: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * A tensor's values to copy from at once: on wasm a view of its memory in the backend's heap (no
 * copy; valid until the next tfjs call), elsewhere dataSync's array.
 */
export function valuesToCopy(tensor: tf.Tensor): Float32Array | Int32Array {
  const backend = tf.backend() as Partial<HeapBackend>;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function')
    return backend.typedArrayFromHeap(tensor);
  return tensor.dataSync() as Float32Array | Int32Array;
}

/** Copies a module's tensors into a shared region (a read of every tensor). */
export function writeState(model: Module, layout: StateLayout, buffer: SharedRegion): void {
  const byName = new Map(model.namedEntries().map((e) => [e.name, e.variable]));
  for (const entry of layout.entries) {
    const variable = byName.get(entry.name)!;
    entryView(buffer, entry).set(valuesToCopy(variable));
  }
}

/** Sets a module's tensors from a shared region (copies: the region is rewritten later). */
export function readState(model: Module, layout: StateLayout, buffer: SharedRegion): void {
  const byName = new Map(model.namedEntries().map((e) => [e.name, e.variable]));
  // wasm copies a new tensor's values into its heap at once; cpu keeps the array it is given.
  const copies = tf.getBackend() === 'wasm';
  for (const entry of layout.entries) {
    const variable = byName.get(entry.name)!;
    const view = entryView(buffer, entry);
    const values = copies ? view : view.slice();
    tf.tidy(() => variable.assign(tf.tensor(values, entry.shape, entry.dtype)));
  }
}
