import '@tensorflow/tfjs-backend-cpu';
import '../src/register-tfjs.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../src/node/index.js';
import { Rng } from '../src/rng.js';
import { patchWasmKernels, restoreWasmKernels } from '../src/wasm-kernels.js';
import { kernelFor, transposePlan } from '../src/wasm-transpose.js';

// The zero-copy Slice that selectBackend installs on wasm, against the cpu backend's slice (an
// independent implementation) over the cases slicing has: every rank tfjs-wasm slices itself,
// whole and partial trailing axes, a box of one element, empty boxes, -1 sizes, int32 and bool.
// The Identity that shares its input's buffer, and the Sum and Mean over leading axes without a
// transpose, against tfjs-wasm's own kernels (bit for bit) and the cpu backend.

interface Case {
  shape: number[];
  begin: number[];
  size: number[];
}

const CASES: Case[] = [
  { shape: [7], begin: [2], size: [4] },
  { shape: [5, 6], begin: [1, 0], size: [3, 6] },
  { shape: [5, 6], begin: [1, 2], size: [3, 3] },
  { shape: [4, 5, 6], begin: [1, 1, 1], size: [2, 3, 4] },
  { shape: [2, 9, 9, 16], begin: [0, 1, 2, 0], size: [2, 7, 6, 16] },
  { shape: [2, 9, 9, 16], begin: [1, 0, 0, 0], size: [1, 9, 9, 16] },
  { shape: [2, 9, 9, 16], begin: [0, 3, 4, 5], size: [2, 1, 1, 1] },
  { shape: [3, 4, 5, 6], begin: [0, 0, 0, 2], size: [3, 4, 5, 3] },
  { shape: [3, 4, 5, 6], begin: [1, 2, 0, 0], size: [-1, -1, -1, -1] },
  { shape: [2, 3, 4, 5, 6], begin: [1, 0, 1, 2, 3], size: [1, 3, 2, 2, 3] },
  { shape: [2, 9, 9, 16], begin: [0, 2, 2, 0], size: [2, 0, 3, 16] },
];

/** Runs `fn` on a backend and returns its values (for comparison across backends). */
async function on(backend: string, fn: () => tf.Tensor): Promise<{ shape: number[]; values: number[] }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  const result = { shape: [...out.shape], values: Array.from(out.dataSync()) };
  out.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return result;
}

/** How many times the wasm backend's whole-tensor `readSync` runs during `fn`. */
async function readSyncCalls(fn: () => void): Promise<number> {
  const backend = tf.findBackend('wasm') as unknown as { readSync: (...args: unknown[]) => unknown };
  const readSync = backend.readSync;
  let copies = 0;
  backend.readSync = (...args: unknown[]) => {
    copies++;
    return readSync.apply(backend, args);
  };
  try {
    await tf.setBackend('wasm');
    fn();
    return copies;
  } finally {
    backend.readSync = readSync;
  }
}

describe('the wasm Slice kernel', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  it('is the patched one once selectBackend activated wasm (and patching again changes nothing)', async () => {
    const before = tf.getKernel(tf.Slice, 'wasm')!.kernelFunc;
    patchWasmKernels();
    expect(tf.getKernel(tf.Slice, 'wasm')!.kernelFunc).toBe(before);
    // The input is read where it lies: the backend's whole-tensor copy is never made.
    const copies = await readSyncCalls(() => {
      const x = tf.ones([2, 8, 8, 4]);
      tf.dispose([x, tf.slice(x, [0, 1, 1, 0], [2, 6, 6, 4])]);
    });
    expect(copies).toBe(0);
  });

  it.each(CASES)(
    'equals the cpu backend for $shape from $begin size $size',
    async ({ shape, begin, size }) => {
      const rng = new Rng(5);
      const values = rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
      const slice = () => tf.slice(tf.tensor(values, shape), begin, size);
      const expected = await on('cpu', slice);
      expect(await on('wasm', slice)).toEqual(expected);
    },
  );

  it('slices int32 and bool tensors like the cpu backend', async () => {
    const ints = () => tf.slice(tf.reshape(tf.range(0, 60, 1, 'int32'), [3, 4, 5]), [1, 1, 2], [2, 2, 3]);
    expect(await on('wasm', ints)).toEqual(await on('cpu', ints));
    const bools = () =>
      tf.slice(tf.greater(tf.reshape(tf.range(0, 24, 1), [2, 3, 4]), 11), [0, 1, 1], [2, 2, 2]);
    expect(await on('wasm', bools)).toEqual(await on('cpu', bools));
    await tf.setBackend('wasm');
    const b = bools();
    expect(b.dtype).toBe('bool');
    b.dispose();
  });

  it('gives the slice gradient (a pad) unchanged', async () => {
    const grad = () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.slice(x, [0, 1, 0, 1], [2, 2, 3, 2]), 3)))(
        tf.tensor(new Rng(2).fillNormal(new Float32Array(2 * 4 * 3 * 3)), [2, 4, 3, 3]),
      );
    expect(await on('wasm', grad)).toEqual(await on('cpu', grad));
  });
});

describe('the wasm SplitV kernel', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  /** Every output of a split, flattened in order, for comparison across backends. */
  const splitOn = async (backend: string, shape: number[], splits: number | number[], axis: number) => {
    const values = new Rng(9).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
    return on(backend, () => {
      const parts = tf.split(tf.tensor(values, shape), splits, axis);
      return tf.concat(parts.map((p) => tf.concat([tf.tensor1d(p.shape), tf.reshape(p, [-1])])));
    });
  };

  it.each([
    { shape: [16, 40], splits: 16, axis: 0 },
    { shape: [4, 6, 6, 12], splits: [5, 7], axis: 3 },
    { shape: [4, 6, 6, 12], splits: [1, -1, 2], axis: 1 },
    { shape: [2, 3, 8], splits: 4, axis: -1 },
    { shape: [3, 5], splits: [0, 5], axis: 1 },
  ])('equals the cpu backend for $shape split $splits on axis $axis', async ({ shape, splits, axis }) => {
    expect(await splitOn('wasm', shape, splits, axis)).toEqual(await splitOn('cpu', shape, splits, axis));
  });

  it("reads its input in place (tfjs-wasm's SplitV copied it out of the heap once per output)", async () => {
    const copies = await readSyncCalls(() => {
      const x = tf.ones([16, 64]);
      tf.dispose([x, ...tf.split(x, 16, 0)]);
    });
    expect(copies).toBe(0);
  });

  it("gives concat's gradient (a SplitV) as the cpu backend", async () => {
    const grad = () => {
      const [a, b] = [tf.ones([2, 3, 4]), tf.fill([2, 3, 5], 2)];
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.mul(tf.concat([p, q], 2), tf.range(0, 9).reshape([1, 1, 9]))),
      )([a, b]);
      return tf.concat([tf.reshape(g[0]!, [-1]), tf.reshape(g[1]!, [-1])]);
    };
    expect(await on('wasm', grad)).toEqual(await on('cpu', grad));
  });
});

describe('the wasm Identity kernel', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  it('shares the input buffer and counts a reference, as the cpu backend does', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1);
    x.dispose();
    // The buffer lives while a tensor refers to it.
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it('leaves gradients as tfjs-wasm computes them (the tape saves its tensors through Identity)', async () => {
    const values = new Rng(4).fillNormal(new Float32Array(2 * 5 * 5 * 3));
    const grad = () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.mul(x, x)), tf.sigmoid(x))))(
        tf.tensor(values, [2, 5, 5, 3]),
      );
    restoreWasmKernels();
    const theirs = await on('wasm', grad);
    patchWasmKernels();
    expect(await on('wasm', grad)).toEqual(theirs);
  });
});

describe('the wasm Sum and Mean kernels', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  const REDUCTIONS: Array<{ shape: number[]; axes: number[] }> = [
    { shape: [2, 7, 9, 16], axes: [0, 1, 2] },
    { shape: [1, 30, 30, 3], axes: [0, 1, 2] },
    { shape: [5, 6], axes: [0] },
    { shape: [3, 4, 5], axes: [0, 1] },
    { shape: [3, 4, 5], axes: [1, 0] },
    { shape: [7, 1, 2, 3, 2], axes: [0, 1, 2] },
    // tfjs's own kernel: innermost, middle and whole reductions.
    { shape: [3, 4, 5], axes: [2] },
    { shape: [3, 4, 5], axes: [1] },
    { shape: [3, 4, 5], axes: [0, 1, 2] },
  ];

  it.each(REDUCTIONS)(
    'reduces $shape over $axes to the bits of tfjs-wasm own kernels',
    async ({ shape, axes }) => {
      await tf.setBackend('wasm');
      // Large values of both signs, so that the order of the additions shows in the bits.
      const values = new Rng(9)
        .fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)))
        .map((v, i) => v * 1000 + (i % 3));
      const x = tf.tensor(values, shape);
      const cases = [
        () => tf.sum(x, axes),
        () => tf.sum(x, axes, true),
        () => tf.mean(x, axes),
        () => tf.mean(x, axes, true),
      ];
      try {
        for (const reduce of cases) {
          restoreWasmKernels();
          const theirs = reduce();
          patchWasmKernels();
          const ours = reduce();
          expect(ours.shape).toEqual(theirs.shape);
          expect(new Uint32Array(ours.dataSync().buffer)).toEqual(new Uint32Array(theirs.dataSync().buffer));
          tf.dispose([theirs, ours]);
        }
      } finally {
        patchWasmKernels();
        x.dispose();
      }
    },
  );

  it('sums int32 tensors and keeps the sum and mean gradients, as the cpu backend', async () => {
    const ints = () => tf.sum(tf.reshape(tf.range(0, 60, 1, 'int32'), [3, 4, 5]), [0, 1]);
    expect(await on('wasm', ints)).toEqual(await on('cpu', ints));
    const values = new Rng(3).fillNormal(new Float32Array(4 * 3 * 2));
    const grad = () =>
      tf.grad((x: tf.Tensor) =>
        tf.add(tf.sum(tf.mul(tf.sum(x, [0, 1]), 2)), tf.sum(tf.mean(tf.square(x), [0]))),
      )(tf.tensor(values, [4, 3, 2]));
    const [wasm, cpu] = [await on('wasm', grad), await on('cpu', grad)];
    expect(wasm.shape).toEqual(cpu.shape);
    wasm.values.forEach((v, i) => expect(v).toBeCloseTo(cpu.values[i]!, 5));
  });
});

describe('the wasm Transpose kernel', () => {
  beforeAll(async () => {
    await useNodeBackend('wasm');
  });

  it('plans batched 2-D transposes and leaves other permutations to tfjs', () => {
    expect(transposePlan([6272, 1024], [1, 0])).toEqual({ batch: 1, rows: 6272, cols: 1024 });
    // NHWC to channels-first: the leading three axes merge into the rows.
    expect(transposePlan([4, 98, 98, 16], [3, 0, 1, 2])).toEqual({ batch: 1, rows: 4 * 98 * 98, cols: 16 });
    expect(transposePlan([4, 96, 96, 16], [0, 3, 1, 2])).toEqual({ batch: 4, rows: 96 * 96, cols: 16 });
    expect(transposePlan([3, 3, 128, 64], [0, 1, 3, 2])).toEqual({ batch: 9, rows: 128, cols: 64 });
    expect(transposePlan([49, 128, 36], [0, 2, 1])).toEqual({ batch: 49, rows: 128, cols: 36 });
    expect(transposePlan([52, 13, 8, 168], [0, 2, 1, 3])).toBeNull(); // the inner axis stays: not 2-D
    expect(transposePlan([4, 6], [0, 1])).toBeNull(); // no change
    expect(transposePlan([6, 5], [1, 0])).toBeNull(); // not whole 4x4 blocks
    expect(transposePlan([2, 3, 4], [2, 1, 0])).toBeNull();
    expect(transposePlan([0, 8], [1, 0])).toBeNull();
  });

  const PERMUTATIONS: Array<{ shape: number[]; perm: number[] }> = [
    { shape: [8, 12], perm: [1, 0] },
    // Tiles cut short at both edges (8x8 tiles over 4x4 blocks).
    { shape: [68, 36], perm: [1, 0] },
    { shape: [36, 268], perm: [1, 0] },
    { shape: [3, 20, 12], perm: [0, 2, 1] },
    { shape: [2, 6, 6, 8], perm: [3, 0, 1, 2] },
    { shape: [2, 6, 6, 8], perm: [0, 3, 1, 2] },
    { shape: [3, 3, 16, 12], perm: [0, 1, 3, 2] },
    // tfjs's kernel: not 2-D, odd sides.
    { shape: [2, 3, 4, 5], perm: [0, 2, 1, 3] },
    { shape: [6, 5], perm: [1, 0] },
  ];

  it.each(PERMUTATIONS)(
    'transposes $shape by $perm to the bits of tfjs-wasm and of the cpu backend',
    async ({ shape, perm }) => {
      const values = new Rng(6).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
      const transpose = () => tf.transpose(tf.tensor(values, shape), perm);
      const cpu = await on('cpu', transpose);
      restoreWasmKernels();
      const theirs = await on('wasm', transpose);
      patchWasmKernels();
      const ours = await on('wasm', transpose);
      expect(ours.shape).toEqual(theirs.shape);
      expect(new Uint32Array(Float32Array.from(ours.values).buffer)).toEqual(
        new Uint32Array(Float32Array.from(theirs.values).buffer),
      );
      expect(ours).toEqual(cpu);
    },
  );

  it('moves int32 elements, keeps bool to tfjs, and gives the gradient (the inverse transpose)', async () => {
    const ints = () => tf.transpose(tf.reshape(tf.range(0, 96, 1, 'int32'), [2, 4, 12]), [0, 2, 1]);
    expect(await on('wasm', ints)).toEqual(await on('cpu', ints));
    const bools = () => tf.transpose(tf.greater(tf.reshape(tf.range(0, 32, 1), [8, 4]), 9), [1, 0]);
    expect(await on('wasm', bools)).toEqual(await on('cpu', bools));
    const values = new Rng(8).fillNormal(new Float32Array(4 * 8 * 12));
    const weights = new Rng(9).fillNormal(new Float32Array(4 * 8 * 12));
    const grad = () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.transpose(x, [2, 0, 1]), tf.tensor(weights, [12, 4, 8]))))(
        tf.tensor(values, [4, 8, 12]),
      );
    expect(await on('wasm', grad)).toEqual(await on('cpu', grad));
  });

  it.each([false, true])('runs over an unshared and a shared heap (shared: %s)', (shared) => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared });
    const kernel = kernelFor(memory)!;
    expect(kernelFor(memory)).toBe(kernel); // one instance per heap
    const [rows, cols] = [20, 36];
    const values = new Rng(11).fillNormal(new Float32Array(rows * cols));
    new Float32Array(memory.buffer, 64, rows * cols).set(values);
    const target = 64 + rows * cols * 4;
    kernel(64, target, rows, cols);
    const out = new Float32Array(memory.buffer, target, rows * cols);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) expect(out[c * rows + r]).toBe(values[r * cols + c]);
    // Nothing past the output is written.
    expect(new Float32Array(memory.buffer, target + rows * cols * 4, 64).every((v) => v === 0)).toBe(true);
  });

  it('still transposes after the heap grew (its view of the memory follows the growth)', async () => {
    await tf.setBackend('wasm');
    const big = tf.zeros([64, 1024, 1024]); // 256 MB: more than the heap held before
    const values = new Rng(10).fillNormal(new Float32Array(40 * 24));
    const x = tf.tensor(values, [40, 24]);
    const y = tf.transpose(x);
    const out = y.dataSync();
    for (let r = 0; r < 40; r++)
      for (let c = 0; c < 24; c++) expect(out[c * 40 + r]).toBe(values[r * 24 + c]);
    tf.dispose([big, x, y]);
  });
});
