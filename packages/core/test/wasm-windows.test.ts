import '@tensorflow/tfjs-backend-cpu';
import '../src/register-tfjs.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useNodeBackend } from '../src/node/index.js';
import { Rng } from '../src/rng.js';
import { patchWasmKernels, restoreWasmKernels } from '../src/wasm-kernels.js';
import { CONV_WINDOWS, type ConvWindowsAttrs, hasConvWindows } from '../src/wasm-windows.js';

// The convolution windows kernel against an exact slow implementation of its definition: every
// element of the output, x[c, b, y + i*dh - top, x + j*dw - left] or 0 outside the input.

interface Case {
  name: string;
  /** Channels-first input [C, N, H, W]. */
  input: [number, number, number, number];
  attrs: ConvWindowsAttrs;
}

const CASES: Case[] = [
  {
    name: '3x3 same',
    input: [3, 2, 7, 6],
    attrs: { kernel: [3, 3], dilation: [1, 1], offset: [1, 1], output: [7, 6] },
  },
  {
    name: '3x3 valid',
    input: [2, 1, 6, 8],
    attrs: { kernel: [3, 3], dilation: [1, 1], offset: [0, 0], output: [4, 6] },
  },
  {
    name: '1x1',
    input: [4, 2, 5, 5],
    attrs: { kernel: [1, 1], dilation: [1, 1], offset: [0, 0], output: [5, 5] },
  },
  {
    name: 'atrous 2x3, asymmetric padding',
    input: [2, 1, 11, 12],
    attrs: { kernel: [3, 2], dilation: [2, 3], offset: [1, 0], output: [9, 10] },
  },
  {
    // fc6 of FCN at 96 px: a 7x7 'same' window on a 3x3 map, most taps only reading padding.
    name: '7x7 same on 3x3',
    input: [5, 2, 3, 3],
    attrs: { kernel: [7, 7], dilation: [1, 1], offset: [3, 3], output: [3, 3] },
  },
  {
    name: 'negative offset (a crop) and a window narrower than the map',
    input: [2, 1, 9, 10],
    attrs: { kernel: [2, 3], dilation: [1, 1], offset: [-2, -1], output: [5, 6] },
  },
  {
    name: 'atrous 12 pad 12 (DeepLab-LargeFOV fc6)',
    input: [2, 1, 13, 15],
    attrs: { kernel: [3, 3], dilation: [12, 12], offset: [12, 12], output: [13, 15] },
  },
];

function reference(x: Float32Array, [c, n, h, w]: Case['input'], attrs: ConvWindowsAttrs): Float32Array {
  const [kh, kw] = attrs.kernel;
  const [oh, ow] = attrs.output;
  const columns = n * oh * ow;
  const out = new Float32Array(kh * kw * c * columns);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let ch = 0; ch < c; ch++)
        for (let b = 0; b < n; b++)
          for (let y = 0; y < oh; y++)
            for (let xo = 0; xo < ow; xo++) {
              const sy = y + i * attrs.dilation[0] - attrs.offset[0];
              const sx = xo + j * attrs.dilation[1] - attrs.offset[1];
              const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
              out[((i * kw + j) * c + ch) * columns + (b * oh + y) * ow + xo] = inside
                ? x[((ch * n + b) * h + sy) * w + sx]!
                : 0;
            }
  return out;
}

describe('the wasm convolution windows kernel', () => {
  let baseline = 0;
  beforeAll(async () => {
    await useNodeBackend('wasm');
    patchWasmKernels();
  });
  beforeEach(() => {
    baseline = tf.memory().numTensors;
  });
  afterEach(() => expect(tf.memory().numTensors).toBe(baseline));

  it('is registered on wasm by patchWasmKernels, and removed by restoreWasmKernels', async () => {
    expect(hasConvWindows()).toBe(true);
    restoreWasmKernels();
    expect(hasConvWindows()).toBe(false);
    patchWasmKernels();
    patchWasmKernels();
    expect(hasConvWindows()).toBe(true);
    await tf.setBackend('cpu');
    expect(hasConvWindows()).toBe(false);
    await tf.setBackend('wasm');
  });

  for (const c of CASES) {
    it(`${c.name}: every element as its definition`, async () => {
      const rng = new Rng(c.input.reduce((a, b) => a * 31 + b, 7));
      // Values that are never 0, so that a zero where an element belongs cannot pass.
      const values = Float32Array.from({ length: c.input.reduce((a, b) => a * b, 1) }, () => 1 + rng.next());
      const x = tf.tensor4d(values, c.input);
      const out = tf
        .engine()
        .runKernel(CONV_WINDOWS, { x }, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      const [kh, kw] = c.attrs.kernel;
      expect(out.shape).toEqual([kh * kw * c.input[0], c.input[1] * c.attrs.output[0] * c.attrs.output[1]]);
      expect(Array.from(await out.data())).toEqual(Array.from(reference(values, c.input, c.attrs)));
      tf.dispose([x, out]);
    });
  }

  it('reads and writes the heap right after it grew (its views follow the growth)', async () => {
    const c = CASES[0]!;
    const values = Float32Array.from({ length: c.input.reduce((a, b) => a * b, 1) }, (_, i) => 1 + i);
    const x = tf.tensor4d(values, c.input);
    // 32 MB more: tfjs grows its heap, which detaches views taken before.
    const big = tf.zeros([1 << 23]);
    const out = tf
      .engine()
      .runKernel(CONV_WINDOWS, { x }, c.attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    expect(Array.from(await out.data())).toEqual(Array.from(reference(values, c.input, c.attrs)));
    tf.dispose([x, big, out]);
  });

  it('refuses an input that is not float32 [C, N, H, W], naming itself', () => {
    const x = tf.zeros([2, 3, 4], 'int32');
    expect(() =>
      tf.engine().runKernel(CONV_WINDOWS, { x }, CASES[0]!.attrs as unknown as tf.NamedAttrMap),
    ).toThrow(/SemsegConvWindows: a float32 \[C, N, H, W\] input/);
    x.dispose();
  });
});
