import type { LabelArray } from './label-array.js';

/**
 * The hot loops. Each pixel lands in a small Uint32 scratch histogram `pending` with no branch
 * and no validation: rows are target codes, columns predicted classes, and invalid values land in
 * extra "bad" bins that the caller inspects once per image. One lane's layout, with n classes and
 * row width n + 1:
 *   rows 0..n-1  ground-truth classes        column n  predictions outside 0..n-1
 *   row n        target == ignore index
 *   row n + 1    target neither a class nor the ignore index
 * Label maps come in long runs of one (target, prediction) pair, and back-to-back increments of
 * one counter wait on each other; the kernels therefore spread pixels over LANES copies of
 * the histogram (`laneStride` apart; 0 when the classes are too many to copy, which is still
 * correct). `delta` is +1 to count and -1 to take an image back out exactly, so that an update
 * that fails part-way leaves the matrix as it was without snapshotting it.
 *
 * Each kernel ends with its hot loop and handles leftover pixels before it: V8 compiles the hot
 * loop on-stack mid-call, and code after it that had never run then deoptimised on every call
 * (measured with --trace-deopt: once per image, falling back to the interpreter).
 */
export interface PendingLayout {
  numClasses: number;
  rowWidth: number;
  ignoreRowOffset: number;
  badRowOffset: number;
  ignoreIndex: number | null;
  /** Entries of one lane's histogram. */
  laneSize: number;
  /** Distance between lanes in `pending`: laneSize, or 0 when every lane is the same copy. */
  laneStride: number;
  /** targetCodes[v] = the row offset for target value v, for v in 0..targetCodes.length - 1. */
  targetCodes: Int32Array;
}

export const LANES = 4;
/** Copies cost memory and flush time; past this lane size (about 60 classes) one copy is used. */
const MAX_COPIED_LANE_SIZE = 4096;

/** The code table covers 0..max(255, n - 1), so Uint8 targets always index it directly. */
export function pendingLayout(numClasses: number, ignoreIndex: number | null): PendingLayout {
  const codeCount = Math.max(256, numClasses);
  const rowWidth = numClasses + 1;
  const ignoreRowOffset = numClasses * rowWidth;
  const badRowOffset = (numClasses + 1) * rowWidth;
  const laneSize = (numClasses + 2) * rowWidth;
  const laneStride = laneSize <= MAX_COPIED_LANE_SIZE ? laneSize : 0;
  const targetCodes = new Int32Array(codeCount).fill(badRowOffset);
  for (let c = 0; c < numClasses; c++) targetCodes[c] = c * rowWidth;
  if (ignoreIndex !== null && ignoreIndex >= 0 && ignoreIndex < codeCount) {
    targetCodes[ignoreIndex] = ignoreRowOffset;
  }
  return {
    numClasses,
    rowWidth,
    ignoreRowOffset,
    badRowOffset,
    ignoreIndex,
    laneSize,
    laneStride,
    targetCodes,
  };
}

/** Entries the scratch needs for a layout (all lanes). */
export function pendingLength(layout: PendingLayout): number {
  return layout.laneStride === 0 ? layout.laneSize : LANES * layout.laneSize;
}

/**
 * Uint8 prediction and Uint8 target (PNG predictions against PNG labels). Where both arrays can be
 * read four bytes at a time from the same alignment, one 32-bit load brings four pixels (8-36%
 * faster than byte loads in three runs on a busy machine); byte k of a prediction word pairs with byte k of the target
 * word whatever the platform's byte order.
 */
export function countUint8(
  pred: Uint8Array,
  target: Uint8Array,
  start: number,
  end: number,
  pending: Uint32Array,
  layout: PendingLayout,
  delta: number,
): void {
  const { targetCodes, numClasses: n, laneStride } = layout;
  const lane1 = laneStride;
  const lane2 = 2 * laneStride;
  const lane3 = 3 * laneStride;
  const predPhase = (pred.byteOffset + start) & 3;
  const targetPhase = (target.byteOffset + start) & 3;
  if (predPhase !== targetPhase || end - start < 16) {
    const bodyEnd = end - ((end - start) & 3);
    countUint8Bytes(pred, target, bodyEnd, end, pending, layout, delta);
    for (let i = start; i < bodyEnd; i += 4) {
      const p0 = pred[i]!;
      const p1 = pred[i + 1]!;
      const p2 = pred[i + 2]!;
      const p3 = pred[i + 3]!;
      pending[targetCodes[target[i]!]! + (p0 < n ? p0 : n)] += delta;
      pending[lane1 + targetCodes[target[i + 1]!]! + (p1 < n ? p1 : n)] += delta;
      pending[lane2 + targetCodes[target[i + 2]!]! + (p2 < n ? p2 : n)] += delta;
      pending[lane3 + targetCodes[target[i + 3]!]! + (p3 < n ? p3 : n)] += delta;
    }
    return;
  }
  const wordStart = start + ((4 - predPhase) & 3);
  const words = (end - wordStart) >> 2;
  const wordEnd = wordStart + 4 * words;
  countUint8Bytes(pred, target, start, wordStart, pending, layout, delta);
  countUint8Bytes(pred, target, wordEnd, end, pending, layout, delta);
  const predWords = new Uint32Array(pred.buffer, pred.byteOffset + wordStart, words);
  const targetWords = new Uint32Array(target.buffer, target.byteOffset + wordStart, words);
  for (let w = 0; w < words; w++) {
    const pp = predWords[w]!;
    const tt = targetWords[w]!;
    const p0 = pp & 255;
    const p1 = (pp >>> 8) & 255;
    const p2 = (pp >>> 16) & 255;
    const p3 = pp >>> 24;
    pending[targetCodes[tt & 255]! + (p0 < n ? p0 : n)] += delta;
    pending[lane1 + targetCodes[(tt >>> 8) & 255]! + (p1 < n ? p1 : n)] += delta;
    pending[lane2 + targetCodes[(tt >>> 16) & 255]! + (p2 < n ? p2 : n)] += delta;
    pending[lane3 + targetCodes[tt >>> 24]! + (p3 < n ? p3 : n)] += delta;
  }
}

/** The few pixels of a Uint8 pair outside the unrolled loop, one at a time, into lane 0. */
function countUint8Bytes(
  pred: Uint8Array,
  target: Uint8Array,
  start: number,
  end: number,
  pending: Uint32Array,
  layout: PendingLayout,
  delta: number,
): void {
  const { targetCodes, numClasses: n } = layout;
  for (let i = start; i < end; i++) {
    const p = pred[i]!;
    pending[targetCodes[target[i]!]! + (p < n ? p : n)] += delta;
  }
}

/**
 * Int32 prediction (tfjs argMax) and Uint8 target: a separate copy so that V8 keeps each loop
 * monomorphic. `>>> 0` on both sides makes the range check one unsigned compare that also sends
 * negative predictions to the out-of-range column (about 25% faster than a signed `n` in two runs).
 */
export function countInt32Uint8(
  pred: Int32Array,
  target: Uint8Array,
  start: number,
  end: number,
  pending: Uint32Array,
  layout: PendingLayout,
  delta: number,
): void {
  const { targetCodes, laneStride } = layout;
  const n = layout.numClasses >>> 0;
  const lane1 = laneStride;
  const lane2 = 2 * laneStride;
  const lane3 = 3 * laneStride;
  const bodyEnd = end - ((end - start) & 3);
  for (let i = bodyEnd; i < end; i++) {
    const p = pred[i]! >>> 0;
    pending[targetCodes[target[i]!]! + (p < n ? p : n)] += delta;
  }
  for (let i = start; i < bodyEnd; i += 4) {
    const p0 = pred[i]! >>> 0;
    const p1 = pred[i + 1]! >>> 0;
    const p2 = pred[i + 2]! >>> 0;
    const p3 = pred[i + 3]! >>> 0;
    pending[targetCodes[target[i]!]! + (p0 < n ? p0 : n)] += delta;
    pending[lane1 + targetCodes[target[i + 1]!]! + (p1 < n ? p1 : n)] += delta;
    pending[lane2 + targetCodes[target[i + 2]!]! + (p2 < n ? p2 : n)] += delta;
    pending[lane3 + targetCodes[target[i + 3]!]! + (p3 < n ? p3 : n)] += delta;
  }
}

/**
 * Any other pairing (Uint16 or Int32 targets, Uint16 predictions). Values past the code table
 * cannot be classes (the table covers them all), so they are the ignore index or bad.
 */
export function countAny(
  pred: LabelArray,
  target: LabelArray,
  start: number,
  end: number,
  pending: Uint32Array,
  layout: PendingLayout,
  delta: number,
): void {
  const { targetCodes, laneStride, ignoreIndex, ignoreRowOffset, badRowOffset } = layout;
  const n = layout.numClasses >>> 0;
  const codeCount = targetCodes.length >>> 0;
  const outside = (t: number) => (t === ignoreIndex ? ignoreRowOffset : badRowOffset);
  const lane1 = laneStride;
  const lane2 = 2 * laneStride;
  const lane3 = 3 * laneStride;
  const bodyEnd = end - ((end - start) & 3);
  for (let i = bodyEnd; i < end; i++) {
    const t = target[i]!;
    const p = pred[i]! >>> 0;
    pending[(t >>> 0 < codeCount ? targetCodes[t]! : outside(t)) + (p < n ? p : n)] += delta;
  }
  for (let i = start; i < bodyEnd; i += 4) {
    const t0 = target[i]!;
    const t1 = target[i + 1]!;
    const t2 = target[i + 2]!;
    const t3 = target[i + 3]!;
    const p0 = pred[i]! >>> 0;
    const p1 = pred[i + 1]! >>> 0;
    const p2 = pred[i + 2]! >>> 0;
    const p3 = pred[i + 3]! >>> 0;
    pending[(t0 >>> 0 < codeCount ? targetCodes[t0]! : outside(t0)) + (p0 < n ? p0 : n)] += delta;
    pending[lane1 + (t1 >>> 0 < codeCount ? targetCodes[t1]! : outside(t1)) + (p1 < n ? p1 : n)] += delta;
    pending[lane2 + (t2 >>> 0 < codeCount ? targetCodes[t2]! : outside(t2)) + (p2 < n ? p2 : n)] += delta;
    pending[lane3 + (t3 >>> 0 < codeCount ? targetCodes[t3]! : outside(t3)) + (p3 < n ? p3 : n)] += delta;
  }
}

/** Sum of one entry over the lanes. */
export function laneSum(pending: Uint32Array, layout: PendingLayout, offset: number): number {
  if (layout.laneStride === 0) return pending[offset]!;
  const s = layout.laneStride;
  return pending[offset]! + pending[offset + s]! + pending[offset + 2 * s]! + pending[offset + 3 * s]!;
}
