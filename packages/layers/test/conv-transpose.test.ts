import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  ConvTranspose2d,
  type ConvTransposeGeometry,
  bilinear,
  convTranspose2d,
  convTransposeOutputLength,
  resize,
} from '../src/index.js';
import { rotate180 } from '../src/ops/index.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { gradientCheck, randomTensor, relativeError, toArray } from './helpers/numeric.js';

interface Case {
  name: string;
  input: [number, number, number, number];
  /** [kh, kw, out, in] */
  kernel: [number, number, number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  outputPadding: [number, number];
}

const CASES: Case[] = [
  {
    // The filter dwarfs the input: the gemm route (filter on the left) in forward and backward.
    name: 'stride 1 k7 p3 on 3x3, 80 inputs (DeconvNet deconv-fc6 at 96 px, gemm)',
    input: [1, 3, 3, 80],
    kernel: [7, 7, 4, 80],
    stride: [1, 1],
    padding: [3, 3],
    dilation: [1, 1],
    outputPadding: [0, 0],
  },
  {
    name: 'stride 1 k3 dilation 2, asymmetric padding and output padding on 1x2 (gemm)',
    input: [2, 1, 2, 40],
    kernel: [3, 3, 3, 40],
    stride: [1, 1],
    padding: [1, 0],
    dilation: [2, 2],
    outputPadding: [1, 1],
  },
  {
    name: 'stride 1 k3 p1 (DeconvNet)',
    input: [2, 5, 4, 3],
    kernel: [3, 3, 2, 3],
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    outputPadding: [0, 0],
  },
  {
    name: 'stride 2 k4 p1 (FCN x2)',
    input: [1, 4, 5, 2],
    kernel: [4, 4, 2, 2],
    stride: [2, 2],
    padding: [1, 1],
    dilation: [1, 1],
    outputPadding: [0, 0],
  },
  {
    name: 'stride 2 k4 no padding (Caffe FCN upscore2)',
    input: [1, 3, 3, 2],
    kernel: [4, 4, 3, 2],
    stride: [2, 2],
    padding: [0, 0],
    dilation: [1, 1],
    outputPadding: [0, 0],
  },
  {
    name: 'stride 8 k16 (FCN-8s upscore8)',
    input: [1, 2, 3, 2],
    kernel: [16, 16, 2, 2],
    stride: [8, 8],
    padding: [4, 4],
    dilation: [1, 1],
    outputPadding: [0, 0],
  },
  {
    name: 'stride 3 k5 odd, output padding',
    input: [1, 3, 4, 2],
    kernel: [5, 5, 2, 2],
    stride: [3, 3],
    padding: [1, 2],
    dilation: [1, 1],
    outputPadding: [2, 1],
  },
  {
    name: 'stride 2x3 k3x2',
    input: [2, 3, 3, 2],
    kernel: [3, 2, 3, 2],
    stride: [2, 3],
    padding: [0, 1],
    dilation: [1, 1],
    outputPadding: [1, 0],
  },
  {
    name: 'dilation 2 stride 1',
    input: [1, 4, 5, 2],
    kernel: [3, 3, 2, 2],
    stride: [1, 1],
    padding: [1, 2],
    dilation: [2, 2],
    outputPadding: [0, 0],
  },
  {
    name: 'dilation 2 stride 2',
    input: [1, 3, 4, 2],
    kernel: [3, 3, 2, 2],
    stride: [2, 2],
    padding: [1, 0],
    dilation: [2, 2],
    outputPadding: [1, 1],
  },
];

function geometryOf(c: Case): ConvTransposeGeometry {
  const size = (a: 0 | 1) =>
    convTransposeOutputLength(
      c.input[a + 1]!,
      c.kernel[a]!,
      c.stride[a]!,
      c.padding[a]!,
      c.dilation[a]!,
      c.outputPadding[a]!,
    );
  return { stride: c.stride, dilation: c.dilation, padding: c.padding, outputSize: [size(0), size(1)] };
}

/** The definition on the host: every input pixel scatters kernel-weighted copies (PyTorch's ConvTranspose2d). */
function referenceTranspose(x: Float64Array, w: Float64Array, c: Case): Float64Array {
  const [n, h, wd, ci] = c.input;
  const [kh, kw, co] = c.kernel;
  const [oh, ow] = geometryOf(c).outputSize;
  const out = new Float64Array(n * oh * ow * co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++)
        for (let u = 0; u < kh; u++)
          for (let v = 0; v < kw; v++) {
            const y = i * c.stride[0] + u * c.dilation[0] - c.padding[0];
            const z = j * c.stride[1] + v * c.dilation[1] - c.padding[1];
            if (y < 0 || z < 0 || y >= oh || z >= ow) continue;
            for (let p = 0; p < ci; p++) {
              const xv = x[((b * h + i) * wd + j) * ci + p]!;
              for (let q = 0; q < co; q++)
                out[((b * oh + y) * ow + z) * co + q] += xv * w[((u * kw + v) * co + q) * ci + p]!;
            }
          }
  return out;
}

describe.each(BACKENDS)('convTranspose2d on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it.each(CASES)('forward equals the definition: $name', async (c) => {
    const x = randomTensor<tf.Rank.R4>(c.input, 1);
    const w = randomTensor<tf.Rank.R4>(c.kernel, 2, 0.3);
    const y = convTranspose2d(x, w, geometryOf(c));
    const [oh, ow] = geometryOf(c).outputSize;
    expect(y.shape).toEqual([c.input[0], oh, ow, c.kernel[2]]);
    expect(
      relativeError(await toArray(y), referenceTranspose(await toArray(x), await toArray(w), c)),
    ).toBeLessThan(1e-5);
    tf.dispose([x, w, y]);
  });

  it('a filter that dwarfs its input runs as matmuls, forward and backward (no Conv2D kernel)', async () => {
    const c = CASES[0]!;
    const x = randomTensor<tf.Rank.R4>(c.input, 5);
    const w = randomTensor<tf.Rank.R4>(c.kernel, 6, 0.3);
    const step = () =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, geometryOf(c))),
      )([x, w]);
    const profile = await tf.profile(() => step());
    tf.dispose(profile.result as tf.Tensor[]);
    expect(profile.kernelNames).toContain('BatchMatMul');
    expect(profile.kernelNames).not.toContain('Conv2D');
    tf.dispose([x, w]);
  });

  it('the ConvTranspose2d layer takes the gemm route in training mode only, with the same values', async () => {
    const layer = new ConvTranspose2d({
      inChannels: 80,
      outChannels: 4,
      kernelSize: 7,
      padding: 3,
      rng: new Rng(3),
    });
    const x = randomTensor<tf.Rank.R4>([1, 3, 3, 80], 9);
    const run = async (training: boolean) => {
      layer.train(training);
      const profile = await tf.profile(() => layer.forward(x));
      const y = profile.result as tf.Tensor;
      const values = await toArray(y);
      y.dispose();
      return { values, conv: profile.kernelNames.includes('Conv2D') };
    };
    const training = await run(true);
    const evaluation = await run(false);
    expect(training.conv).toBe(false);
    expect(evaluation.conv).toBe(true);
    expect(relativeError(training.values, evaluation.values)).toBeLessThan(1e-5);
    tf.dispose(x);
    layer.dispose();
  });

  it.each(CASES)('gradients match finite differences: $name', async (c) => {
    const x = randomTensor<tf.Rank.R4>(c.input, 3);
    const w = randomTensor<tf.Rank.R4>(c.kernel, 4, 0.3);
    const g = geometryOf(c);
    const error = await gradientCheck(
      ([a, b]) => convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, g),
      [x, w],
    );
    expect(error).toBeLessThan(2e-3);
    tf.dispose([x, w]);
  });

  it.each(CASES.filter((c) => c.dilation[0] === 1 && c.outputPadding[0] === 0 && c.outputPadding[1] === 0))(
    'forward and gradients equal tf.conv2dTranspose: $name',
    async (c) => {
      const x = randomTensor<tf.Rank.R4>(c.input, 5);
      const w = randomTensor<tf.Rank.R4>(c.kernel, 6, 0.3);
      const g = geometryOf(c);
      const outShape: [number, number, number, number] = [c.input[0], ...g.outputSize, c.kernel[2]];
      const dy = randomTensor<tf.Rank.R4>(outShape, 7);
      // tfjs's pad is the forward conv's padding; PyTorch-style padding p equals tfjs pad p here.
      const builtIn = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, outShape, c.stride, c.padding[0]!);
      if (c.padding[0] !== c.padding[1]) return void tf.dispose([x, w, dy]);
      const ours = tf.tidy(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, g), dy)),
        )([x, w]),
      );
      // wasm lacks Conv2DBackpropFilter, which tfjs's filter gradient here needs: compare the input gradient only.
      const reference = tf.tidy(() =>
        backend === 'cpu'
          ? tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(builtIn(a, b), dy)))([x, w])
          : [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(builtIn(a, w), dy)))(x)],
      );
      const forwardOurs = convTranspose2d(x, w, g);
      const forwardRef = builtIn(x, w);
      expect(relativeError(await toArray(forwardOurs), await toArray(forwardRef))).toBeLessThan(1e-5);
      for (let k = 0; k < reference.length; k++) {
        expect(relativeError(await toArray(ours[k]!), await toArray(reference[k]!))).toBeLessThan(1e-5);
      }
      tf.dispose([x, w, dy, ...ours, ...reference, forwardOurs, forwardRef]);
    },
  );

  it('a stride-2 layer initialised bilinear reproduces bilinear upsampling in the interior (FCN)', async () => {
    const layer = new ConvTranspose2d({
      inChannels: 3,
      outChannels: 3,
      kernelSize: 4,
      stride: 2,
      padding: 1,
      bias: false,
      rng: new Rng(1),
      weightInit: bilinear(),
    });
    const x = randomTensor<tf.Rank.R4>([1, 6, 5, 3], 8);
    const up = layer.forward(x);
    const ref = resize(x, [12, 10], { mode: 'bilinear' });
    expect(up.shape).toEqual([1, 12, 10, 3]);
    const inner = tf.tidy(() => tf.slice(tf.sub(up, ref), [0, 1, 1, 0], [1, 10, 8, 3]));
    expect(Math.max(...(await inner.data()).map(Math.abs))).toBeLessThan(1e-5);
    tf.dispose([x, up, ref, inner]);
    layer.dispose();
  });

  it('output size control: outputPadding and a requested size', async () => {
    const layer = new ConvTranspose2d({
      inChannels: 2,
      outChannels: 2,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      rng: new Rng(2),
    });
    const x = randomTensor<tf.Rank.R4>([1, 4, 4, 2], 9);
    const plain = layer.forward(x);
    const larger = layer.forward(x, [8, 8]);
    expect(plain.shape).toEqual([1, 7, 7, 2]);
    expect(larger.shape).toEqual([1, 8, 8, 2]);
    expect(() => layer.forward(x, [9, 9])).toThrow(/outside 7..8/);
    // The extra row and column only add the bias to positions no input reaches.
    const common = tf.slice(larger, [0, 0, 0, 0], [1, 7, 7, 2]);
    expect(relativeError(await toArray(common), await toArray(plain))).toBeLessThan(1e-6);
    tf.dispose([x, plain, larger, common]);
    layer.dispose();
  });
});

describe.each(BACKENDS)('rotate180 on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it.each([
    [3, 3, 2, 4],
    [2, 5, 3, 1],
    [4, 1, 1, 2],
  ] as Array<[number, number, number, number]>)(
    'reverses both spatial axes of a %ix%i kernel exactly',
    async (...shape) => {
      const kernel = randomTensor<tf.Rank.R4>(shape, 4);
      const rotated = rotate180(kernel);
      const [kh, kw, a, b] = shape;
      const source = await kernel.data();
      const expected = new Float32Array(source.length);
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          for (let k = 0; k < a * b; k++)
            expected[(i * kw + j) * a * b + k] = source[((kh - 1 - i) * kw + (kw - 1 - j)) * a * b + k]!;
      expect(rotated.shape).toEqual(shape);
      expect(await rotated.data()).toEqual(expected);
      tf.dispose([kernel, rotated]);
    },
  );

  it('returns a 1x1 kernel as it is', () => {
    const kernel = randomTensor<tf.Rank.R4>([1, 1, 3, 2], 5);
    expect(rotate180(kernel)).toBe(kernel);
    kernel.dispose();
  });
});
