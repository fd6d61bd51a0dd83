import '@tensorflow/tfjs-backend-cpu';
import '../src/register-tfjs.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../src/node/index.js';
import { Rng } from '../src/rng.js';
import { patchWasmKernels, restoreWasmKernels } from '../src/wasm-kernels.js';
import { matMulKernelFor, transposedAKernelFor } from '../src/wasm-matmul.js';

// The matmul that reads B in place (wasm-matmul.ts): the kernel against an exact slow product
// with the same float32 rounding (one product added per k, in order), and tfjs's BatchMatMul
// through it against tfjs-wasm's own kernel (XNNPACK), bit for bit, over the shapes its loops
// split: rows in 4s and a tail of 1-3, columns in 8s and a tail of 4, K past one 256-long chunk.

/** C = A B row-major, each sum rounded to float32 after every product is added, k in order. */
function slowProduct(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let kk = 0; kk < k; kk++) sum = Math.fround(sum + Math.fround(a[i * k + kk]! * b[kk * n + j]!));
      c[i * n + j] = sum;
    }
  return c;
}

/** Values of both signs and many magnitudes, so that the order of the additions shows in the bits. */
const values = (length: number, seed: number) =>
  new Rng(seed).fillNormal(new Float32Array(length)).map((v, i) => v * (1 + (i % 7) * 100));

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

const SHAPES: Array<[number, number, number]> = [
  [4, 8, 8],
  [1, 5, 4],
  [7, 300, 12],
  [9, 513, 20],
  [6, 256, 16],
  [13, 1, 36],
  [64, 40, 64],
];

describe('the wasm matmul kernel', () => {
  // Every shape in both loop orders (rows outside, columns outside), and rows outside with B's
  // chunks copied into panels first.
  const ORDERED = SHAPES.flatMap((shape) =>
    [
      [0, 0],
      [1, 0],
      [0, 1],
    ].map(([order, panels]) => [...shape, order!, panels!] as const),
  );
  /**
   * The kernel on a fresh heap: A (stored transposed when `transposed`), B, then C and the
   * panels' scratch filled with NaN (a value read before it is written shows). C, and whether
   * the four floats past it stayed NaN.
   */
  const inHeap = (transposed: boolean, m: number, k: number, n: number, order: number, panels: number) => {
    const memory = new WebAssembly.Memory({ initial: 64 });
    const run = (transposed ? transposedAKernelFor : matMulKernelFor)(memory);
    expect(run).not.toBeNull();
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    const stored = new Float32Array(k * m);
    for (let i = 0; i < m; i++) for (let kk = 0; kk < k; kk++) stored[kk * m + i] = a[i * k + kk]!;
    const [atA, atB, atC] = [64, 64 + a.byteLength, 64 + a.byteLength + b.byteLength];
    const atPanels = panels ? Math.ceil((atC + (m * n + 4) * 4 + 64) / 64) * 64 : 0;
    const heap = new Float32Array(memory.buffer);
    heap.set(transposed ? stored : a, atA / 4);
    heap.set(b, atB / 4);
    heap.fill(Number.NaN, atC / 4, atC / 4 + m * n + 4);
    if (panels) heap.fill(Number.NaN, atPanels / 4, atPanels / 4 + 256 * n);
    run!(atA, atB, atC, m, k, n, order, atPanels);
    return {
      c: heap.slice(atC / 4, atC / 4 + m * n),
      expected: slowProduct(a, b, m, k, n),
      pastC: heap.slice(atC / 4 + m * n, atC / 4 + m * n + 4).every(Number.isNaN),
    };
  };

  it.each(ORDERED)(
    'multiplies [%i, %i] by [%i-wide] exactly as the slow product (columns outside: %i, panels: %i)',
    (m, k, n, order, panels) => {
      const { c, expected, pastC } = inHeap(false, m, k, n, order, panels);
      expect(bits(c)).toEqual(bits(expected));
      expect(pastC).toBe(true);
    },
  );

  it.each(ORDERED)(
    'multiplies [%i, %i]^T stored transposed by [%i-wide] exactly as the slow product (columns outside: %i, panels: %i)',
    (m, k, n, order, panels) => {
      const { c, expected, pastC } = inHeap(true, m, k, n, order, panels);
      expect(bits(c)).toEqual(bits(expected));
      expect(pastC).toBe(true);
    },
  );

  it('gives zeros for K = 0', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = new Float32Array(memory.buffer);
    heap.fill(7, 0, 32);
    matMulKernelFor(memory)!(0, 0, 0, 3, 0, 8, 0, 0);
    expect(Array.from(heap.slice(0, 24))).toEqual(new Array(24).fill(0));
  });
});

describe('the wasm BatchMatMul kernel', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  it('is the patched one once selectBackend activated wasm, and restoreWasmKernels puts XNNPACK back', () => {
    const original = Symbol.for('semseg.wasm-kernel');
    const patched = tf.getKernel(tf.BatchMatMul, 'wasm')!.kernelFunc as tf.KernelFunc &
      Record<symbol, unknown>;
    expect(typeof patched[original]).toBe('function');
    try {
      restoreWasmKernels();
      expect(tf.getKernel(tf.BatchMatMul, 'wasm')!.kernelFunc).toBe(patched[original]);
    } finally {
      patchWasmKernels();
    }
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')!.kernelFunc).not.toBe(patched[original]);
  });

  const CASES: Array<{ a: number[]; b: number[]; transposeA?: boolean; transposeB?: boolean }> = [
    // Rows of B long enough to be copied into panels first (with a 4-wide tail and K past a chunk).
    { a: [70, 300], b: [300, 260] },
    { a: [2, 66, 40], b: [2, 40, 1024] },
    // A of a few rows (the filter transforms): the columns loop outside.
    { a: [16, 9], b: [9, 1028] },
    { a: [9, 16], b: [16, 1028] },
    ...SHAPES.map(([m, k, n]) => ({ a: [m, k], b: [k, n] })),
    { a: [3, 5, 9], b: [3, 9, 12] },
    { a: [1, 5, 9], b: [4, 9, 8] },
    { a: [4, 6, 9], b: [1, 9, 8] },
    { a: [6, 9], b: [2, 9, 8] },
    // A transposed (the Winograd filter gradient's A dY A^T): rows in 4s and a tail.
    { a: [9, 6], b: [9, 8], transposeA: true },
    { a: [300, 7], b: [300, 12], transposeA: true },
    { a: [3, 9, 5], b: [3, 9, 12], transposeA: true },
    // tfjs's own kernel: B transposed, N not a multiple of 4, rank 4.
    { a: [6, 9], b: [8, 9], transposeB: true },
    { a: [6, 9], b: [9, 7] },
    { a: [2, 2, 6, 9], b: [2, 2, 9, 8] },
  ];

  it.each(CASES)(
    'multiplies $a by $b (transposed $transposeA, $transposeB) as tfjs-wasm own kernel (to the bit, A untransposed)',
    ({ a: shapeA, b: shapeB, transposeA = false, transposeB = false }) => {
      const a = tf.tensor(values(tf.util.sizeFromShape(shapeA), 3), shapeA);
      const b = tf.tensor(values(tf.util.sizeFromShape(shapeB), 4), shapeB);
      const product = () => tf.matMul(a, b, transposeA, transposeB);
      try {
        restoreWasmKernels();
        const theirs = product();
        patchWasmKernels();
        const before = tf.memory().numTensors;
        // The panels' scratch is freed again: one buffer more, the output's.
        const buffers = tf.backend().numDataIds();
        const ours = product();
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(tf.backend().numDataIds()).toBe(buffers + 1);
        expect(ours.shape).toEqual(theirs.shape);
        const [mine, tfjs] = [ours.dataSync() as Float32Array, theirs.dataSync() as Float32Array];
        // tfjs's transposed path sums in another order past 256 terms: rounding only (the kernel's
        // own test has it exact against the slow product).
        if (transposeA) {
          const largest = tfjs.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          mine.forEach((v, i) => expect(Math.abs(v - tfjs[i]!)).toBeLessThan(1e-5 * largest));
        } else expect(bits(mine)).toEqual(bits(tfjs));
        tf.dispose([theirs, ours]);
      } finally {
        patchWasmKernels();
        tf.dispose([a, b]);
      }
    },
  );

  it('is exact on a 2-D product (the slow product)', () => {
    const [m, k, n] = [5, 270, 12];
    const a = values(m * k, 5);
    const b = values(k * n, 6);
    const c = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync());
    expect(bits(c as Float32Array)).toEqual(bits(slowProduct(a, b, m, k, n)));
  });

  it("gives the matmul gradients (transposed products: tfjs's kernel) as the cpu backend", async () => {
    const rng = new Rng(11);
    const a = rng.fillNormal(new Float32Array(6 * 10));
    const b = rng.fillNormal(new Float32Array(10 * 8));
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() =>
        tf
          .grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([
            tf.tensor2d(a, [6, 10]),
            tf.tensor2d(b, [10, 8]),
          ])
          .map((g) => Array.from(g.dataSync())),
      );
    };
    const onWasm = await grads('wasm');
    const onCpu = await grads('cpu');
    await tf.setBackend('wasm');
    for (const [i, g] of onWasm.entries())
      for (const [j, v] of g.entries())
        expect(Math.abs(v - onCpu[i]![j]!)).toBeLessThan(1e-4 * (1 + Math.abs(v)));
  });

  it('writes the heap right after it grew', () => {
    const [m, k, n] = [9, 40, 16];
    const a = values(m * k, 9);
    const b = values(k * n, 10);
    const ta = tf.tensor2d(a, [m, k]);
    const tb = tf.tensor2d(b, [k, n]);
    const big = tf.zeros([1 << 23]);
    const c = tf.matMul(ta, tb);
    expect(bits(c.dataSync() as Float32Array)).toEqual(bits(slowProduct(a, b, m, k, n)));
    tf.dispose([ta, tb, big, c]);
  });
});
