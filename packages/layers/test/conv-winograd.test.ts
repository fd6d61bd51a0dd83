import { WINOGRAD_INPUT, hasWinogradTransforms, patchWasmKernels } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type ConvGeometry, conv2d } from '../src/index.js';
import {
  convFilterGradient,
  convFilterGradientByWinograd,
  convForwardByWinograd,
  convInputGradient,
  convInputGradientByWinograd,
  forwardConv,
  prefersWinograd,
  prefersWinogradFilterGradient,
} from '../src/ops/index.js';
import { onBackendWithoutLeaks } from './helpers/backends.js';
import { randomTensor, relativeError, toArray } from './helpers/numeric.js';

// Winograd F(2x2, 3x3) against the direct routes (themselves checked against tfjs's built-in
// gradients in conv.test.ts): the forward, the input gradient and the filter gradient, for even
// and odd maps, 'same', 'valid', asymmetric and negative padding. Winograd rounds differently
// (2.25x fewer products, sums of transformed values), so the bar is float32 rounding: 1e-5 of the
// largest value (measured: 1e-6 - 3e-6 on VGG16's layer shapes).

interface Case {
  name: string;
  input: [number, number, number, number];
  channels: [number, number];
  padding: [number, number, number, number];
}

const CASES: Case[] = [
  { name: "'same', even map", input: [2, 8, 6, 4], channels: [4, 8], padding: [1, 1, 1, 1] },
  { name: "'same', odd map", input: [1, 7, 9, 8], channels: [8, 4], padding: [1, 1, 1, 1] },
  { name: "'valid', odd output", input: [2, 9, 8, 4], channels: [4, 4], padding: [0, 0, 0, 0] },
  { name: 'asymmetric padding', input: [1, 6, 7, 4], channels: [4, 12], padding: [2, 0, 0, 1] },
  { name: 'negative padding (a crop)', input: [1, 10, 9, 8], channels: [8, 4], padding: [-1, 1, 0, -2] },
  { name: 'a 1x1 map', input: [3, 1, 1, 4], channels: [4, 4], padding: [1, 1, 1, 1] },
];

const geometryOf = (c: Case): ConvGeometry => ({ stride: [1, 1], dilation: [1, 1], padding: c.padding });

/** How many input transforms (one per band) a call runs. */
async function inputTransforms(run: () => tf.Tensor): Promise<number> {
  const info = await tf.profile(run);
  tf.dispose(info.result as tf.Tensor);
  return info.kernels.filter((k) => k.name === WINOGRAD_INPUT).length;
}

describe('convolutions by Winograd F(2x2, 3x3) on wasm', () => {
  onBackendWithoutLeaks('wasm');

  for (const c of CASES) {
    it(`${c.name}: forward, input and filter gradients equal the direct routes`, async () => {
      const geometry = geometryOf(c);
      const [ci, co] = c.channels;
      const x = randomTensor<tf.Rank.R4>(c.input, 41);
      const w = randomTensor<tf.Rank.R4>([3, 3, ci, co], 42, 0.3);
      const direct = forwardConv(x, w, geometry);
      const dy = randomTensor<tf.Rank.R4>(direct.shape, 43);
      const pairs: Array<[tf.Tensor, tf.Tensor]> = [
        [direct, convForwardByWinograd(x, w, geometry)],
        [
          convInputGradient(dy, w, geometry, x.shape, undefined, 'conv'),
          convInputGradientByWinograd(dy, w, geometry, x.shape),
        ],
        [
          convFilterGradient(x, dy, geometry, w.shape, 'gemm'),
          convFilterGradientByWinograd(x, dy, geometry, w.shape),
        ],
      ];
      for (const [reference, winograd] of pairs) {
        expect(winograd.shape).toEqual(reference.shape);
        expect(relativeError(await toArray(winograd), await toArray(reference))).toBeLessThan(1e-5);
      }
      tf.dispose([x, w, dy, ...pairs.flat()]);
    });
  }

  it('a map too large for one transformed copy runs in bands of rows, the same values', async () => {
    // 16 * 129 tiles per tile row * 64 channels: 127 tile rows fit 64 MB, so 262 output rows are
    // two bands (254 + 8); asymmetric padding so that the bands' own offsets differ.
    const geometry: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [2, 0, 1, 1] };
    const x = randomTensor<tf.Rank.R4>([1, 262, 258, 64], 48);
    const w = randomTensor<tf.Rank.R4>([3, 3, 64, 4], 49, 0.1);
    const direct = forwardConv(x, w, geometry);
    expect(direct.shape).toEqual([1, 262, 258, 4]);
    const dy = randomTensor<tf.Rank.R4>(direct.shape, 50);
    const pairs: Array<[tf.Tensor, tf.Tensor]> = [
      [direct, convForwardByWinograd(x, w, geometry)],
      [
        convInputGradient(dy, w, geometry, x.shape, undefined, 'conv'),
        convInputGradientByWinograd(dy, w, geometry, x.shape),
      ],
    ];
    for (const [reference, winograd] of pairs)
      expect(relativeError(await toArray(winograd), await toArray(reference))).toBeLessThan(1e-5);
    expect(await inputTransforms(() => convForwardByWinograd(x, w, geometry))).toBe(2);
    tf.dispose([x, w, dy, ...pairs.flat()]);
  });

  it('the filter gradient of a map of more than 4,096 tiles runs in bands, summed', async () => {
    // 64 tiles per tile row: 64 tile rows per band, so 200 rows are bands of 128 and 72.
    const geometry: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 0, 2] };
    const x = randomTensor<tf.Rank.R4>([1, 200, 128, 4], 51);
    const dy = randomTensor<tf.Rank.R4>([1, 200, 128, 8], 52);
    const reference = convFilterGradient(x, dy, geometry, [3, 3, 4, 8], 'gemm');
    const winograd = convFilterGradientByWinograd(x, dy, geometry, [3, 3, 4, 8]);
    expect(await inputTransforms(() => convFilterGradientByWinograd(x, dy, geometry, [3, 3, 4, 8]))).toBe(2);
    expect(relativeError(await toArray(winograd), await toArray(reference))).toBeLessThan(1e-5);
    tf.dispose([x, dy, reference, winograd]);
  });

  it("conv2d's gradients through 'auto' on a VGG-sized layer (Winograd every pass) equal the direct routes", async () => {
    const geometry: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] };
    const x = randomTensor<tf.Rank.R4>([1, 28, 28, 128], 44);
    const w = randomTensor<tf.Rank.R4>([3, 3, 128, 128], 45, 0.05);
    const dy = randomTensor<tf.Rank.R4>([1, 28, 28, 128], 46);
    expect(prefersWinograd(dy.shape, w.shape, geometry)).toBe(true);
    expect(prefersWinogradFilterGradient(dy.shape, w.shape, geometry)).toBe(true);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, geometry, { forward: 'auto' }), dy)),
    )([x, w]);
    const y = conv2d(x, w, geometry, { forward: 'auto' });
    const references = [
      forwardConv(x, w, geometry),
      convInputGradient(dy, w, geometry, x.shape, undefined, 'conv'),
      convFilterGradient(x, dy, geometry, w.shape, 'gemm'),
    ];
    for (const [ours, reference] of [y, gx!, gw!].map((t, k) => [t, references[k]!] as const))
      expect(relativeError(await toArray(ours), await toArray(reference))).toBeLessThan(1e-5);
    tf.dispose([x, w, dy, y, gx!, gw!, ...references]);
  });

  it('Conv2d in evaluation mode takes Winograd with its bias and ReLU in the output pass, as tfjs fuses them', async () => {
    const { Conv2d } = await import('../src/index.js');
    const { Rng } = await import('@semseg/core');
    const layer = new Conv2d({ inChannels: 64, outChannels: 64, kernelSize: 3, padding: 1, rng: new Rng(3) });
    layer.eval();
    const x = randomTensor<tf.Rank.R4>([1, 28, 28, 64], 47);
    const geometry: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] };
    const [filter, bias] = layer.parameters() as unknown as [tf.Tensor4D, tf.Tensor1D];
    expect(prefersWinograd([1, 28, 28, 64], filter.shape, geometry)).toBe(true);
    for (const activation of ['linear', 'relu'] as const) {
      const ours = layer.forward(x, { activation });
      const reference = forwardConv(x, filter, geometry, { bias, activation });
      const values = await toArray(ours);
      expect(relativeError(values, await toArray(reference))).toBeLessThan(1e-5);
      if (activation === 'relu') expect(values.some((v) => v === 0) && values.some((v) => v > 0)).toBe(true);
      tf.dispose([ours, reference]);
    }
    tf.dispose(x);
    layer.dispose();
  });

  it("'auto' keeps the direct routes where they measured faster, and wherever Winograd cannot run", async () => {
    const same: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] };
    // VGG16 at 224x224, every 3x3 layer with 64 channels or more; FCN-8s w1/4's 16-128 channels.
    expect(prefersWinograd([1, 224, 224, 64], [3, 3, 64, 64], same)).toBe(true);
    expect(prefersWinograd([1, 14, 14, 512], [3, 3, 512, 512], same)).toBe(true);
    expect(prefersWinograd([4, 96, 96, 16], [3, 3, 16, 16], same)).toBe(true);
    expect(prefersWinograd([4, 6, 6, 128], [3, 3, 128, 128], same)).toBe(true);
    // Below 16 channels, 32 tiles or a 4x4 map; the 3-channel first layer, strides, dilation, 5x5.
    expect(prefersWinograd([4, 96, 96, 8], [3, 3, 8, 8], same)).toBe(false);
    expect(prefersWinograd([1, 7, 7, 512], [3, 3, 512, 512], same)).toBe(false);
    expect(prefersWinograd([8, 3, 3, 128], [3, 3, 128, 128], same)).toBe(false);
    expect(prefersWinograd([1, 224, 224, 64], [3, 3, 3, 64], same)).toBe(false);
    expect(prefersWinograd([1, 56, 56, 256], [3, 3, 256, 256], { ...same, stride: [2, 2] })).toBe(false);
    expect(prefersWinograd([1, 56, 56, 256], [3, 3, 256, 256], { ...same, dilation: [2, 2] })).toBe(false);
    expect(prefersWinograd([1, 56, 56, 256], [5, 5, 256, 256], same)).toBe(false);
    // The filter gradient: also a tile per 8,192 filter elements (VGG16's conv5 at batch 1 has 49
    // tiles for 262,144, at 7x7 16).
    expect(prefersWinogradFilterGradient([1, 224, 224, 64], [3, 3, 64, 64], same)).toBe(true);
    expect(prefersWinogradFilterGradient([4, 24, 24, 64], [3, 3, 64, 64], same)).toBe(true);
    expect(prefersWinogradFilterGradient([1, 14, 14, 512], [3, 3, 512, 512], same)).toBe(true);
    expect(prefersWinogradFilterGradient([4, 7, 7, 512], [3, 3, 512, 512], same)).toBe(true);
    expect(prefersWinogradFilterGradient([1, 7, 7, 512], [3, 3, 512, 512], same)).toBe(false);
    expect(prefersWinogradFilterGradient([1, 14, 14, 1024], [3, 3, 1024, 1024], same)).toBe(false);
    expect(prefersWinogradFilterGradient([4, 96, 96, 8], [3, 3, 8, 8], same)).toBe(false);
    // Without the kernels (tfjs's own wasm kernels only) nothing takes Winograd.
    tf.unregisterKernel(WINOGRAD_INPUT, 'wasm');
    try {
      expect(hasWinogradTransforms()).toBe(false);
      expect(prefersWinograd([1, 56, 56, 256], [3, 3, 256, 256], same)).toBe(false);
      const [x, w] = [tf.zeros([1, 4, 4, 4]) as tf.Tensor4D, tf.zeros([3, 3, 4, 4]) as tf.Tensor4D];
      expect(() => convForwardByWinograd(x, w, same)).toThrow(
        /convForwardByWinograd: a 3x3 stride-1 undilated filter/,
      );
      tf.dispose([x, w]);
    } finally {
      patchWasmKernels();
    }
    expect(hasWinogradTransforms()).toBe(true);
  });
});
