import '@tensorflow/tfjs-backend-cpu';
import '../src/register-tfjs.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../src/node/index.js';
import { Rng } from '../src/rng.js';
import { patchWasmKernels, restoreWasmKernels } from '../src/wasm-kernels.js';
import {
  WINOGRAD_GRADIENT,
  WINOGRAD_INPUT,
  WINOGRAD_OUTPUT,
  type WinogradAttrs,
  hasWinogradTransforms,
  withoutWinogradTransforms,
} from '../src/wasm-winograd.js';

// The two Winograd F(2x2, 3x3) transforms against exact slow implementations of their
// definitions, with float32 rounding after every operation in the kernels' order: the same bits.

const f = Math.fround;
/** B^T for F(2, 3) on four values, rounded as the kernel rounds. */
const bt = (d: readonly number[]) => [f(d[0]! - d[2]!), f(d[1]! + d[2]!), f(d[2]! - d[1]!), f(d[1]! - d[3]!)];
/** A (4x2) on two values. */
const a2 = (v0: number, v1: number) => [v0, f(v0 + v1), f(v0 - v1), -v1];

/** x NHWC -> 16 planes [P, C]: B^T d B of each tile's 4x4 window, zeros outside. */
function inputReference(
  x: Float32Array,
  [n, h, w, c]: number[],
  { tiles, offset }: WinogradAttrs,
): Float32Array[] {
  const [th, tw] = tiles;
  const p = n! * th * tw;
  const planes = Array.from({ length: 16 }, () => new Float32Array(p * c!));
  for (let b = 0; b < n!; b++)
    for (let ty = 0; ty < th; ty++)
      for (let tx = 0; tx < tw; tx++)
        for (let ch = 0; ch < c!; ch++) {
          const at = (i: number, j: number) => {
            const y = 2 * ty + i - offset[0];
            const xx = 2 * tx + j - offset[1];
            return y >= 0 && y < h! && xx >= 0 && xx < w! ? x[((b * h! + y) * w! + xx) * c! + ch]! : 0;
          };
          const rows = [0, 1, 2, 3].map((i) => bt([0, 1, 2, 3].map((j) => at(i, j))));
          for (let nu = 0; nu < 4; nu++) {
            const column = bt(rows.map((r) => r[nu]!));
            for (let xi = 0; xi < 4; xi++)
              planes[xi * 4 + nu]![((b * th + ty) * tw + tx) * c! + ch] = column[xi]!;
          }
        }
  return planes;
}

/** dy [K, N, OH, OW] -> 16 planes [K, P]: A dY A^T of each tile's 2x2 gradient, zeros past the map. */
function gradientReference(
  dy: Float32Array,
  [n, oh, ow, k]: number[],
  { tiles }: WinogradAttrs,
): Float32Array[] {
  const [th, tw] = tiles;
  const p = n! * th * tw;
  const planes = Array.from({ length: 16 }, () => new Float32Array(p * k!));
  for (let b = 0; b < n!; b++)
    for (let ty = 0; ty < th; ty++)
      for (let tx = 0; tx < tw; tx++)
        for (let ch = 0; ch < k!; ch++) {
          const at = (i: number, j: number) => {
            const y = 2 * ty + i;
            const xx = 2 * tx + j;
            return y < oh! && xx < ow! ? dy[((b * oh! + y) * ow! + xx) * k! + ch]! : 0;
          };
          const u = [a2(at(0, 0), at(0, 1)), a2(at(1, 0), at(1, 1))];
          for (let nu = 0; nu < 4; nu++) {
            const column = a2(u[0]![nu]!, u[1]![nu]!);
            for (let xi = 0; xi < 4; xi++)
              planes[xi * 4 + nu]![((b * th + ty) * tw + tx) * k! + ch] = column[xi]!;
          }
        }
  return planes;
}

/** 16 planes [P, C] -> NHWC [N, OH, OW, C]: A^T M A of each tile, pixels past the map dropped. */
function outputReference(
  planes: Float32Array[],
  [n, oh, ow, c]: number[],
  { tiles }: WinogradAttrs,
): Float32Array {
  const [th, tw] = tiles;
  const out = new Float32Array(n! * oh! * ow! * c!);
  const along = (v: number[]) => [f(f(v[0]! + v[1]!) + v[2]!), f(f(v[1]! - v[2]!) - v[3]!)];
  for (let b = 0; b < n!; b++)
    for (let ty = 0; ty < th; ty++)
      for (let tx = 0; tx < tw; tx++)
        for (let ch = 0; ch < c!; ch++) {
          const p = (b * th + ty) * tw + tx;
          const r = [0, 1, 2, 3].map((xi) =>
            along([0, 1, 2, 3].map((nu) => planes[xi * 4 + nu]![p * c! + ch]!)),
          );
          for (let col = 0; col < 2; col++) {
            const [top, bottom] = along(r.map((row) => row[col]!));
            const [y, x] = [2 * ty, 2 * tx + col];
            if (x >= ow!) continue;
            out[((b * oh! + y) * ow! + x) * c! + ch] = top!;
            if (y + 1 < oh!) out[((b * oh! + y + 1) * ow! + x) * c! + ch] = bottom!;
          }
        }
  return out;
}

const tilesOf = (oh: number, ow: number): [number, number] => [Math.ceil(oh / 2), Math.ceil(ow / 2)];

const INPUT_CASES: Array<{ name: string; shape: number[]; attrs: WinogradAttrs }> = [
  { name: "3x3 'same', even map", shape: [2, 6, 8, 4], attrs: { tiles: tilesOf(6, 8), offset: [1, 1] } },
  { name: "3x3 'same', odd map", shape: [1, 7, 5, 8], attrs: { tiles: tilesOf(7, 5), offset: [1, 1] } },
  { name: "'valid' (no padding)", shape: [2, 9, 6, 4], attrs: { tiles: tilesOf(7, 4), offset: [0, 0] } },
  {
    name: 'a map smaller than a tile',
    shape: [1, 1, 2, 12],
    attrs: { tiles: tilesOf(1, 2), offset: [1, 1] },
  },
  { name: 'asymmetric padding', shape: [1, 5, 6, 4], attrs: { tiles: tilesOf(5, 7), offset: [2, 0] } },
];

const GRADIENT_CASES: Array<{ name: string; shape: number[]; attrs: WinogradAttrs }> = [
  { name: 'even map', shape: [2, 6, 8, 12], attrs: { tiles: tilesOf(6, 8), offset: [0, 0] } },
  { name: 'odd map', shape: [1, 7, 5, 8], attrs: { tiles: tilesOf(7, 5), offset: [0, 0] } },
  { name: 'one pixel', shape: [2, 1, 1, 4], attrs: { tiles: tilesOf(1, 1), offset: [0, 0] } },
];

describe('the wasm Winograd transforms', () => {
  let baseline = 0;
  beforeAll(async () => {
    await useNodeBackend('wasm');
    patchWasmKernels();
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => expect(tf.memory().numTensors).toBe(baseline));

  it('are registered on wasm by patchWasmKernels, and removed by restoreWasmKernels', async () => {
    expect(hasWinogradTransforms()).toBe(true);
    restoreWasmKernels();
    expect(hasWinogradTransforms()).toBe(false);
    patchWasmKernels();
    expect(hasWinogradTransforms()).toBe(true);
    await tf.setBackend('cpu');
    expect(hasWinogradTransforms()).toBe(false);
    await tf.setBackend('wasm');
  });

  /** The 16 planes as the one [16, rows, c] tensor the output transform reads. */
  const stacked = (values: Float32Array[], rows: number, c: number) => {
    const all = new Float32Array(16 * rows * c);
    values.forEach((v, e) => all.set(v, e * rows * c));
    return tf.tensor3d(all, [16, rows, c]);
  };

  const random = (shape: number[], seed = 11) => {
    const rng = new Rng(shape.reduce((a, b) => a * 31 + b, seed));
    // Never 0, so that a zero where a value belongs cannot pass.
    return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.5 + rng.next());
  };

  for (const c of INPUT_CASES)
    it(`input transform, ${c.name}: every element as its definition`, async () => {
      const values = random(c.shape);
      const x = tf.tensor(values, c.shape);
      const planes = tf
        .engine()
        .runKernel(WINOGRAD_INPUT, { x }, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      const expected = inputReference(values, c.shape, c.attrs);
      expect(planes.shape).toEqual([16, c.shape[0]! * c.attrs.tiles[0] * c.attrs.tiles[1], c.shape[3]]);
      const got = await planes.data();
      const size = got.length / 16;
      for (let e = 0; e < 16; e++)
        expect(Array.from(got.subarray(e * size, (e + 1) * size))).toEqual(Array.from(expected[e]!));
      tf.dispose([x, planes]);
    });

  for (const c of GRADIENT_CASES)
    it(`gradient transform, ${c.name}: every element as its definition`, async () => {
      const values = random(c.shape);
      const dy = tf.tensor(values, c.shape);
      const planes = tf
        .engine()
        .runKernel(WINOGRAD_GRADIENT, { dy }, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      const expected = gradientReference(values, c.shape, c.attrs);
      expect(planes.shape).toEqual([16, c.shape[0]! * c.attrs.tiles[0] * c.attrs.tiles[1], c.shape[3]]);
      const got = await planes.data();
      const size = got.length / 16;
      for (let e = 0; e < 16; e++)
        expect(Array.from(got.subarray(e * size, (e + 1) * size))).toEqual(Array.from(expected[e]!));
      tf.dispose([dy, planes]);
    });

  for (const [name, shape] of [
    ['even map', [2, 6, 8, 4]],
    ['odd map', [1, 7, 5, 8]],
    ['one pixel', [3, 1, 1, 4]],
  ] as const)
    it(`output transform, ${name}: every element as its definition`, async () => {
      const [n, oh, ow, c] = shape;
      const attrs: WinogradAttrs = { tiles: tilesOf(oh, ow), offset: [0, 0], output: [oh, ow] };
      const rows = n * attrs.tiles[0] * attrs.tiles[1];
      const values = Array.from({ length: 16 }, (_, e) => random([rows, c], 100 + e));
      const m = stacked(values, rows, c);
      const y = tf
        .engine()
        .runKernel(WINOGRAD_OUTPUT, { m }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(y.shape).toEqual([...shape]);
      expect(Array.from(await y.data())).toEqual(Array.from(outputReference(values, [...shape], attrs)));
      tf.dispose([y, m]);
    });

  it('output transform with a bias and ReLU in the same pass: the same bits as adding and clamping after', async () => {
    const [n, oh, ow, c] = [2, 5, 6, 8];
    const attrs: WinogradAttrs = { tiles: tilesOf(oh, ow), offset: [0, 0], output: [oh, ow], relu: true };
    const rows = n * attrs.tiles[0] * attrs.tiles[1];
    // Values of both signs, so that the ReLU has something to clamp.
    const values = Array.from({ length: 16 }, (_, e) => random([rows, c], 200 + e).map((v) => v - 1));
    const biasValues = random([c], 300).map((v) => v - 1);
    const m = stacked(values, rows, c);
    const bias = tf.tensor1d(biasValues);
    const y = tf
      .engine()
      .runKernel(WINOGRAD_OUTPUT, { m, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    const plain = outputReference(values, [n, oh, ow, c], attrs);
    const expected = plain.map((v, i) => Math.max(0, f(v + biasValues[i % c]!)));
    const got = await y.data();
    expect(Array.from(got)).toEqual(Array.from(expected));
    expect(got.some((v) => v === 0) && got.some((v) => v > 0)).toBe(true);
    tf.dispose([y, bias, m]);
  });

  it('output transform refuses anything but 16 planes of a multiple of 4 channels, naming itself', () => {
    const attrs = { tiles: [2, 2], offset: [0, 0], output: [4, 4] } as unknown as tf.NamedAttrMap;
    for (const shape of [
      [15, 4, 4],
      [16, 4, 6],
      [16, 16],
    ]) {
      const m = tf.zeros(shape);
      expect(() => tf.engine().runKernel(WINOGRAD_OUTPUT, { m }, attrs)).toThrow(
        /SemsegWinogradOutput: a float32 input m \[16, P, C\], C a multiple of 4/,
      );
      m.dispose();
    }
  });

  it('are away while withoutWinogradTransforms runs its function, and back after it, also when it throws', () => {
    expect(withoutWinogradTransforms(() => hasWinogradTransforms())).toBe(false);
    expect(hasWinogradTransforms()).toBe(true);
    expect(() =>
      withoutWinogradTransforms(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(hasWinogradTransforms()).toBe(true);
  });

  it('write the heap right after it grew', async () => {
    const c = INPUT_CASES[0]!;
    const values = random(c.shape);
    const x = tf.tensor(values, c.shape);
    const big = tf.zeros([1 << 23]);
    const planes = tf
      .engine()
      .runKernel(WINOGRAD_INPUT, { x }, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    const got = await planes.data();
    const size = got.length / 16;
    expect(Array.from(got.subarray(5 * size, 6 * size))).toEqual(
      Array.from(inputReference(values, c.shape, c.attrs)[5]!),
    );
    tf.dispose([x, big, planes]);
  });

  it('refuse channels that are not a multiple of 4, naming themselves', () => {
    const x = tf.zeros([1, 4, 4, 3]);
    expect(() =>
      tf
        .engine()
        .runKernel(WINOGRAD_INPUT, { x }, { tiles: [2, 2], offset: [1, 1] } as unknown as tf.NamedAttrMap),
    ).toThrow(/SemsegWinogradInput: a float32 NHWC input with a multiple of 4 channels/);
    expect(() =>
      tf.engine().runKernel(WINOGRAD_GRADIENT, { dy: x }, {
        tiles: [2, 2],
        offset: [0, 0],
      } as unknown as tf.NamedAttrMap),
    ).toThrow(/SemsegWinogradGradient: a float32 NHWC output gradient with a multiple of 4 channels/);
    x.dispose();
  });
});
