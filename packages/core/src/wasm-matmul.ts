import {
  type Code,
  FunctionBuilder,
  type Local,
  control,
  f32,
  f32x4,
  forRange,
  i32,
  local,
  memory,
  v128,
} from '@semseg/crf/wasm-writer';
import type * as tf from '@tensorflow/tfjs-core';
import { type ModuleBackend, heapKernel, heapOf } from './wasm-heap-kernel.js';

// C = A B for row-major A [M, K] and B [K, N], read where they lie. tfjs-backend-wasm's matmul is
// XNNPACK's fully connected operator, which packs B into its own layout before it multiplies and
// keeps the packing for as long as that tensor lives: for a filter at inference, once. In a
// training step every B is new (this step's filter, or an activation or gradient in the filter
// gradient's products), and the packing ran at under 1 GB/s: a [64, 4032] x [4032, 64] product
// took 1.0 ms with B packed and 2.3-3.3 ms with a new B, which is what the Winograd filter
// gradient's 16 products per band are. This kernel reads B in place: 4 rows by 8 columns of C per
// step in SIMD registers over a chunk of K, so that the chunk of B (KC rows of 8 columns) stays in
// the first-level cache while the rows of A go by.

/** K per pass over C: a chunk of B's 8 columns is KC x 32 bytes (8 KB), and of A's 4 rows 4 KB. */
const KC = 256;

/** Lane `lane` of a vector in all four lanes, as a byte shuffle. */
const splatLane = (lane: number) =>
  [0, 1, 2, 3].flatMap(() => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3]);

/**
 * matmul(a, b, c, m, k, n, columnsOutside, panels): byte addresses, n a multiple of 4; c is
 * overwritten. `columnsOutside` (0 or 1) picks the loop order (`columnsOutside()`); `panels`, when
 * not 0, is scratch of KC x n floats that each chunk of B is copied into first (`packsB`). With
 * `transposeA`, `a` holds A^T ([K, M] row-major): a tile's four rows at one k are four
 * consecutive values, one load and four lane splats.
 */
function buildKernel(transposeA: boolean): FunctionBuilder {
  const fn = new FunctionBuilder(transposeA ? 'matmul_ta' : 'matmul');
  const [a, b, c, m, k, n, columnsOutside, panels] = Array.from({ length: 8 }, () => fn.param('i32'));
  const [k0, kEnd, m0, n0, kk, pb, pc, rowA, rowB, mMain, nMain, stepB, pd, ps] = Array.from(
    { length: 14 },
    () => fn.local('i32'),
  );
  const pa = Array.from({ length: 4 }, () => fn.local('i32'));
  const acc = Array.from({ length: 8 }, () => fn.local('v128'));
  const [b0, b1, s, column] = [fn.local('v128'), fn.local('v128'), fn.local('v128'), fn.local('v128')];
  const get = (l: Local): Code => local.get(l);
  const bytes = (elements: Code): Code => i32.shl(elements, i32.const(2));
  const min = (x: Code, y: Code): Code => control.select(x, y, i32.ltS(x, y));
  const add = (l: Local, value: Code): Code => local.set(l, i32.add(get(l), value));
  // The panel of B's columns from `column` (a multiple of 8, or the 4-wide tail's start): KC rows of 32 bytes each.
  const panelAt = (column: Code): Code =>
    i32.add(get(panels), i32.mul(i32.shrU(column, i32.const(3)), i32.const(KC * 32)));

  // `rows` (4 or 1) rows of C from m0, `vectors` (2 or 1) x 4 columns from n0, over k0 .. kEnd.
  const tile = (rows: number, vectors: number): Code => {
    const code: Code[] = [];
    code.push(local.set(pc, i32.add(get(c), bytes(i32.add(i32.mul(get(m0), get(n)), get(n0))))));
    // The first chunk of K starts from zeros, later ones from the partial sums in C (C is written
    // once where K fits one chunk, not zeroed, read back and written again).
    const zeros: Code[] = [];
    const partial: Code[] = [];
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < vectors; j++) {
        zeros.push(local.set(acc[i * 2 + j]!, f32x4.splat(f32.const(0))));
        partial.push(
          local.set(acc[i * 2 + j]!, v128.load(i32.add(get(pc), i32.mul(i32.const(i), get(rowB))), 16 * j)),
        );
      }
    code.push(control.ifElse(i32.eqz(get(k0)), zeros, partial));
    if (transposeA)
      code.push(local.set(pa[0]!, i32.add(get(a), bytes(i32.add(i32.mul(get(k0), get(m)), get(m0))))));
    else {
      code.push(local.set(pa[0]!, i32.add(get(a), bytes(i32.add(i32.mul(get(m0), get(k)), get(k0))))));
      for (let i = 1; i < rows; i++) code.push(local.set(pa[i]!, i32.add(get(pa[i - 1]!), get(rowA))));
    }
    // B in place, or this chunk's panel of B's columns (`panels`: 8 wide, then the 4-wide tail).
    const panel = panelAt(get(vectors === 2 ? n0 : nMain));
    code.push(
      control.ifElse(
        get(panels),
        [local.set(pb, panel), local.set(stepB, i32.const(16 * vectors))],
        [
          local.set(pb, i32.add(get(b), bytes(i32.add(i32.mul(get(k0), get(n)), get(n0))))),
          local.set(stepB, get(rowB)),
        ],
      ),
    );
    const step: Code[] = [local.set(b0, v128.load(get(pb)))];
    if (vectors === 2) step.push(local.set(b1, v128.load(get(pb), 16)));
    if (transposeA && rows === 4) step.push(local.set(column, v128.load(get(pa[0]!))));
    for (let i = 0; i < rows; i++) {
      const value =
        transposeA && rows === 4
          ? v128.shuffle(get(column), get(column), splatLane(i))
          : v128.load32Splat(get(pa[transposeA ? 0 : i]!));
      step.push(local.set(s, value));
      step.push(local.set(acc[i * 2]!, f32x4.add(get(acc[i * 2]!), f32x4.mul(get(s), get(b0)))));
      if (vectors === 2)
        step.push(local.set(acc[i * 2 + 1]!, f32x4.add(get(acc[i * 2 + 1]!), f32x4.mul(get(s), get(b1)))));
      if (!transposeA) step.push(add(pa[i]!, i32.const(4)));
    }
    if (transposeA) step.push(add(pa[0]!, get(rowA)));
    step.push(add(pb, get(stepB)));
    code.push(forRange(kk, get(k0), get(kEnd), 1, ...step));
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < vectors; j++)
        code.push(
          v128.store(i32.add(get(pc), i32.mul(i32.const(i), get(rowB))), get(acc[i * 2 + j]!), 16 * j),
        );
    return code.flat();
  };

  // Columns from n0 = 0 for `rows` rows at m0: 8 at a time, then a last 4.
  const columns = (rows: number): Code =>
    [
      forRange(n0, i32.const(0), get(nMain), 8, tile(rows, 2)),
      control.if(i32.ltS(get(nMain), get(n)), local.set(n0, get(nMain)), tile(rows, 1)),
    ].flat();

  // This chunk's rows of B's columns from `column`, `vectors` x 4 wide, as one panel's rows.
  const copyPanel = (column: Local, vectors: number): Code =>
    [
      local.set(pd, panelAt(get(column))),
      local.set(ps, i32.add(get(b), bytes(i32.add(i32.mul(get(k0), get(n)), get(column))))),
      forRange(
        kk,
        get(k0),
        get(kEnd),
        1,
        ...Array.from({ length: vectors }, (_, j) => v128.store(get(pd), v128.load(get(ps), 16 * j), 16 * j)),
        add(pd, i32.const(16 * vectors)),
        add(ps, get(rowB)),
      ),
    ].flat();

  // Rows from m0 = 0 for `vectors` x 4 columns at n0: 4 at a time, then one by one.
  const rowsOf = (vectors: number): Code =>
    [
      forRange(m0, i32.const(0), get(mMain), 4, tile(4, vectors)),
      forRange(m0, get(mMain), get(m), 1, tile(1, vectors)),
    ].flat();

  fn.body = [
    // A's row stride: K elements, or M with A transposed (a step of k moves one row of A^T).
    local.set(rowA, bytes(transposeA ? get(m) : get(k))),
    local.set(rowB, bytes(get(n))),
    local.set(mMain, i32.and(get(m), i32.const(~3))),
    local.set(nMain, i32.and(get(n), i32.const(~7))),
    // K = 0: no chunk runs, and C is zeros.
    control.if(i32.eqz(get(k)), memory.fill(get(c), i32.const(0), bytes(i32.mul(get(m), get(n))))),
    forRange(
      k0,
      i32.const(0),
      get(k),
      KC,
      local.set(kEnd, min(i32.add(get(k0), i32.const(KC)), get(k))),
      // Copy this chunk of B into panels of 8 columns (and a last of 4), each row of a panel 32
      // (16) consecutive bytes: B's rows 4 KB apart (N = 1024) all fell in one set of the L1 cache.
      control.if(
        get(panels),
        forRange(n0, i32.const(0), get(nMain), 8, copyPanel(n0, 2)),
        control.if(i32.ltS(get(nMain), get(n)), copyPanel(nMain, 1)),
      ),
      // Rows outside (B's chunk is read once per 4 rows of A, from the cache), or, for an A of a
      // few rows (the filter transforms' [16, 9]), columns outside: B is read once, A stays in L1.
      control.ifElse(
        get(columnsOutside),
        [
          forRange(n0, i32.const(0), get(nMain), 8, rowsOf(2)),
          control.if(i32.ltS(get(nMain), get(n)), local.set(n0, get(nMain)), rowsOf(1)),
        ],
        [
          forRange(m0, i32.const(0), get(mMain), 4, columns(4)),
          forRange(m0, get(mMain), get(m), 1, columns(1)),
        ],
      ),
    ),
  ].flat();
  return fn;
}

type MatMulKernel = (
  a: number,
  b: number,
  c: number,
  m: number,
  k: number,
  n: number,
  columnsOutside: number,
  panels: number,
) => void;

/** A's chunk of K at most this many elements (16 KB): the columns loop outside (`buildKernel`). */
const SMALL_A = 4096;

/**
 * Whether B's chunks are copied into panels first: rows of B of 256 floats and more (1 KB and up
 * apart, so that a column panel's rows crowd a few sets of the L1 cache) and enough rows of A to
 * reuse each panel. Alternating in one process, in place / panels ms: [6272, 72] x [72, 1024] (FCN
 * w1/4's fc6 filter gradient at batch 8) 60 / 32-39, [196, 512] x [512, 512] 3.1-3.6 / 2.2-2.3,
 * [49, 512] x [512, 512] 0.7 / 0.6, [784, 256] x [256, 256] 2.2-2.3 / 2.1-2.3; at 128 columns
 * slower ([576, 12544] x [12544, 128] 38 / 40-43).
 */
export const packsB = (m: number, n: number): boolean => m >= 16 && n >= 256;

/** Whether the columns loop runs outside for this product. */
export const columnsOutside = (m: number, k: number): number => (m * Math.min(k, KC) <= SMALL_A ? 1 : 0);

/** The kernel over `memory`, null where it cannot run (exported for tests). */
export const matMulKernelFor = heapKernel<MatMulKernel>(() => buildKernel(false), 'matmul');
/** The same with `a` holding A^T ([K, M]); exported for tests. */
export const transposedAKernelFor = heapKernel<MatMulKernel>(() => buildKernel(true), 'matmul_ta');

interface BatchMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** [batch, rows, columns] of a rank-2 or rank-3 operand, or null for higher ranks. */
const asBatch = (shape: readonly number[]): [number, number, number] | null =>
  shape.length === 2
    ? [1, shape[0]!, shape[1]!]
    : shape.length === 3
      ? [shape[0]!, shape[1]!, shape[2]!]
      : null;

/**
 * tfjs-backend-wasm 4.22's BatchMatMul by the kernels above where they apply: float32, B not
 * transposed, ranks 2 or 3 (a batch of 1 broadcast), N a multiple of 4. Each element is the same
 * sum in the same order as XNNPACK's (one product added per k, in order), so the bits agree; A
 * transposed (the Winograd filter gradient's A dY A^T, [P, Cout] per plane) reads a column of four
 * rows at once, where tfjs's kernel took its slow path (10x: it transposes first). Anything else
 * runs tfjs's kernel.
 */
export function inPlaceMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    const backend = args.backend as unknown as ModuleBackend;
    const heap = heapOf(backend);
    const shapeA = asBatch(a.shape);
    const shapeB = asBatch(b.shape);
    if (transposeB || a.dtype !== 'float32' || b.dtype !== 'float32' || !heap || !shapeA || !shapeB)
      return original(args);
    const [batchA, rowsA, columnsA] = shapeA;
    const [m, k] = transposeA ? [columnsA, rowsA] : [rowsA, columnsA];
    const [batchB, kb, n] = shapeB;
    const batch = Math.max(batchA, batchB);
    const run = (transposeA ? transposedAKernelFor : matMulKernelFor)(heap);
    if (
      !run ||
      k !== kb ||
      n % 4 !== 0 ||
      (batchA !== batch && batchA !== 1) ||
      (batchB !== batch && batchB !== 1)
    )
      return original(args);
    // The output (and the panels) first: allocating may grow the heap, which detaches earlier views of it.
    const out = backend.makeOutput(
      a.shape.length === 3 || b.shape.length === 3 ? [batch, m, n] : [m, n],
      'float32',
    );
    if (batch * m * n === 0) return out;
    const order = columnsOutside(m, k);
    const scratch = !order && packsB(m, n) ? backend.makeOutput([KC * n], 'float32') : null;
    const atA = backend.typedArrayFromHeap(a).byteOffset;
    const atB = backend.typedArrayFromHeap(b).byteOffset;
    const atC = backend.typedArrayFromHeap(out).byteOffset;
    const atPanels = scratch ? backend.typedArrayFromHeap(scratch).byteOffset : 0;
    for (let i = 0; i < batch; i++)
      run(
        atA + (batchA === 1 ? 0 : i * m * k * 4),
        atB + (batchB === 1 ? 0 : i * k * n * 4),
        atC + i * m * n * 4,
        m,
        k,
        n,
        order,
        atPanels,
      );
    if (scratch) backend.disposeData(scratch.dataId);
    return out;
  };
}
