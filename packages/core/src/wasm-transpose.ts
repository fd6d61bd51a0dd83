import {
  type Code,
  FunctionBuilder,
  type Local,
  control,
  forRange,
  i32,
  local,
  v128,
} from '@semseg/crf/wasm-writer';
import type * as tf from '@tensorflow/tfjs-core';
import { type ModuleBackend, heapKernel, heapOf } from './wasm-heap-kernel.js';

// tfjs-backend-wasm 4.22's Transpose walks the output in order and reads the input with a stride,
// one element at a time: a matrix whose rows are longer than the cache reads each input line once
// per element it holds. A training step transposes its large filters every time (the gemm route's
// W^T for fc6 [6272, 1024], fc7 [1024, 1024]) and channels-first copies of its maps; at FCN-8s
// width 1/4 that was 24 and 14 ms of a 413-ms batch-4 forward and backward on a 2-core VM. The
// kernel below moves 4x4 blocks with SIMD shuffles inside 8x8 tiles, so that every line it touches
// is used whole: 18.6 -> 13.1 ms for fc6's filter, 7.45 -> 1.42 ms for fc7's (core's bench, a
// fresh output each call). It copies bits, so the result is exactly tfjs's.

/** Rows and columns of tiles: an 8x8 tile reads and writes two cache lines per row. */
const TILE = 8;

/** A transpose as `batch` row-major matrices of rows x cols, each turned into cols x rows. */
export interface TransposePlan {
  batch: number;
  rows: number;
  cols: number;
}

/**
 * The permutation as batched 2-D transposes, when it is one: axes that stay next to each other
 * merge, and what remains must be [1, 0] or [0, 2, 1]. Null for anything else (tfjs's kernel
 * runs), and when a side is not a multiple of 4 (the kernel moves 4x4 blocks).
 */
export function transposePlan(shape: readonly number[], perm: readonly number[]): TransposePlan | null {
  // Runs of consecutive input axes in output order, then their extents in input order.
  const runs: number[][] = [];
  for (const axis of perm) {
    const run = runs.at(-1);
    if (run && run.at(-1)! + 1 === axis) run.push(axis);
    else runs.push([axis]);
  }
  const inputOrder = [...runs].sort((a, b) => a[0]! - b[0]!);
  const extents = inputOrder.map((run) => run.reduce((size, axis) => size * shape[axis]!, 1));
  const merged = runs.map((run) => inputOrder.indexOf(run));
  let plan: TransposePlan;
  if (merged.length === 2 && merged[0] === 1) plan = { batch: 1, rows: extents[0]!, cols: extents[1]! };
  else if (merged.length === 3 && merged[0] === 0 && merged[1] === 2)
    plan = { batch: extents[0]!, rows: extents[1]!, cols: extents[2]! };
  else return null;
  if (plan.rows % 4 !== 0 || plan.cols % 4 !== 0 || plan.batch * plan.rows * plan.cols === 0) return null;
  return plan;
}

/** The 32-bit lanes `lanes` of two vectors (0-3 the first, 4-7 the second) as a byte shuffle. */
const lanesOf = (lanes: readonly number[]) => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/** transpose(src, dst, rows, cols): one row-major rows x cols matrix of 4-byte elements, byte addresses. */
function buildKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('transpose');
  const [src, dst, rows, cols] = [fn.param('i32'), fn.param('i32'), fn.param('i32'), fn.param('i32')];
  const [r0, c0, r, c, rEnd, cEnd, at, rowBytes, colBytes] = Array.from({ length: 9 }, () => fn.local('i32'));
  const [a, b, cc, d, ab0, ab1, cd0, cd1] = Array.from({ length: 8 }, () => fn.local('v128'));
  const get = (l: Local): Code => local.get(l);
  const min = (x: Code, y: Code): Code => control.select(x, y, i32.ltS(x, y));
  const next = (stride: Local): Code => local.set(at, i32.add(get(at), get(stride)));
  const byteIndex = (row: Local, width: Local, col: Local) =>
    i32.shl(i32.add(i32.mul(get(row), get(width)), get(col)), i32.const(2));
  // Rows r..r+3 at columns c..c+3 in, columns c..c+3 of rows r..r+3 out: two rounds of shuffles.
  const block: Code[] = [
    local.set(at, i32.add(get(src), byteIndex(r, cols, c))),
    local.set(a, v128.load(get(at))),
    next(rowBytes),
    local.set(b, v128.load(get(at))),
    next(rowBytes),
    local.set(cc, v128.load(get(at))),
    next(rowBytes),
    local.set(d, v128.load(get(at))),
    local.set(ab0, v128.shuffle(get(a), get(b), lanesOf([0, 4, 1, 5]))),
    local.set(ab1, v128.shuffle(get(a), get(b), lanesOf([2, 6, 3, 7]))),
    local.set(cd0, v128.shuffle(get(cc), get(d), lanesOf([0, 4, 1, 5]))),
    local.set(cd1, v128.shuffle(get(cc), get(d), lanesOf([2, 6, 3, 7]))),
    local.set(at, i32.add(get(dst), byteIndex(c, rows, r))),
    v128.store(get(at), v128.shuffle(get(ab0), get(cd0), lanesOf([0, 1, 4, 5]))),
    next(colBytes),
    v128.store(get(at), v128.shuffle(get(ab0), get(cd0), lanesOf([2, 3, 6, 7]))),
    next(colBytes),
    v128.store(get(at), v128.shuffle(get(ab1), get(cd1), lanesOf([0, 1, 4, 5]))),
    next(colBytes),
    v128.store(get(at), v128.shuffle(get(ab1), get(cd1), lanesOf([2, 3, 6, 7]))),
  ];
  fn.body = [
    ...local.set(rowBytes, i32.shl(get(cols), i32.const(2))),
    ...local.set(colBytes, i32.shl(get(rows), i32.const(2))),
    ...forRange(
      r0,
      i32.const(0),
      get(rows),
      TILE,
      local.set(rEnd, min(i32.add(get(r0), i32.const(TILE)), get(rows))),
      forRange(
        c0,
        i32.const(0),
        get(cols),
        TILE,
        local.set(cEnd, min(i32.add(get(c0), i32.const(TILE)), get(cols))),
        forRange(r, get(r0), get(rEnd), 4, forRange(c, get(c0), get(cEnd), 4, ...block)),
      ),
    ),
  ];
  return fn;
}

/** Transposes the rows x cols matrix of 4-byte elements at byte `src` into byte `dst`. */
export type TransposeKernel = (src: number, dst: number, rows: number, cols: number) => void;

/** The kernel over `memory`, null where tfjs's kernel stays (exported for tests: shared and unshared heaps). */
export const kernelFor = heapKernel<TransposeKernel>(buildKernel, 'transpose');

/** tfjs-backend-wasm 4.22's Transpose, by tiles of SIMD blocks where the permutation allows (the same bits). */
export function tiledTranspose(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { perm } = args.attrs as unknown as { perm: number[] };
    const backend = args.backend as unknown as ModuleBackend;
    const memory = heapOf(backend);
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || !memory) return original(args);
    const plan = transposePlan(x.shape, perm);
    const kernel = plan && kernelFor(memory);
    if (!plan || !kernel) return original(args);
    // The output first: allocating it may grow the heap, which detaches earlier views of it.
    const out = backend.makeOutput(
      perm.map((axis) => x.shape[axis]!),
      x.dtype,
    );
    const source = backend.typedArrayFromHeap(x).byteOffset;
    const target = backend.typedArrayFromHeap(out).byteOffset;
    const planeBytes = plan.rows * plan.cols * 4;
    for (let k = 0; k < plan.batch; k++)
      kernel(source + k * planeBytes, target + k * planeBytes, plan.rows, plan.cols);
    return out;
  };
}
