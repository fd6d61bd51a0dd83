import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type ConvGeometry, conv2d } from '../src/index.js';
import { convFilterGradient, convInputGradient, resolveConvPadding } from '../src/ops/index.js';
import { BACKENDS, onBackendWithoutLeaks } from './helpers/backends.js';
import { gradientCheck, randomTensor, relativeError, toArray } from './helpers/numeric.js';

interface Case {
  name: string;
  input: [number, number, number, number];
  kernel: [number, number, number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: 'same' | 'valid' | [number, number, number, number];
}

const CASES: Case[] = [
  {
    name: '3x3 same',
    input: [2, 7, 6, 3],
    kernel: [3, 3, 3, 4],
    stride: [1, 1],
    dilation: [1, 1],
    padding: 'same',
  },
  {
    name: '3x3 valid stride 2 odd',
    input: [1, 9, 7, 2],
    kernel: [3, 3, 2, 3],
    stride: [2, 2],
    dilation: [1, 1],
    padding: 'valid',
  },
  {
    name: '3x3 same stride 2',
    input: [2, 8, 7, 2],
    kernel: [3, 3, 2, 2],
    stride: [2, 2],
    dilation: [1, 1],
    padding: 'same',
  },
  {
    name: '4x3 explicit asym stride 3x2',
    input: [1, 10, 9, 2],
    kernel: [4, 3, 2, 3],
    stride: [3, 2],
    dilation: [1, 1],
    padding: [2, 1, 0, 2],
  },
  {
    name: '7x7 valid (fc6)',
    input: [1, 9, 8, 2],
    kernel: [7, 7, 2, 3],
    stride: [1, 1],
    dilation: [1, 1],
    padding: 'valid',
  },
  {
    // fc6 of FCN/DeconvNet at 96x96: a 3x3 map, the filter far larger than the activations (the
    // input gradient takes the gemm route).
    name: '7x7 same on 3x3, 80 outputs (fc6 at 96 px)',
    input: [1, 3, 3, 5],
    kernel: [7, 7, 5, 80],
    stride: [1, 1],
    dilation: [1, 1],
    padding: 'same',
  },
  {
    name: '1x1',
    input: [2, 5, 5, 4],
    kernel: [1, 1, 4, 3],
    stride: [1, 1],
    dilation: [1, 1],
    padding: 'valid',
  },
  {
    name: 'atrous 2 pad 2',
    input: [1, 9, 11, 2],
    kernel: [3, 3, 2, 3],
    stride: [1, 1],
    dilation: [2, 2],
    padding: [2, 2, 2, 2],
  },
  {
    name: 'atrous 4 same',
    input: [2, 11, 9, 2],
    kernel: [3, 3, 2, 2],
    stride: [1, 1],
    dilation: [4, 4],
    padding: 'same',
  },
  {
    name: 'atrous 12 pad 12',
    input: [1, 13, 15, 2],
    kernel: [3, 3, 2, 2],
    stride: [1, 1],
    dilation: [12, 12],
    padding: [12, 12, 12, 12],
  },
  {
    name: 'atrous 2x3 stride 2',
    input: [1, 11, 12, 2],
    kernel: [3, 2, 2, 2],
    stride: [2, 2],
    dilation: [2, 3],
    padding: [1, 2, 0, 1],
  },
];

function geometryOf(c: Case): ConvGeometry {
  return {
    stride: c.stride,
    dilation: c.dilation,
    padding: resolveConvPadding(
      c.padding,
      [c.input[1], c.input[2]],
      [c.kernel[0], c.kernel[1]],
      c.stride,
      c.dilation,
    ),
  };
}

/** tf.conv2d with the same geometry: the reference for values (and gradients where tfjs has them). */
function reference(x: tf.Tensor4D, w: tf.Tensor4D, c: Case): tf.Tensor4D {
  return tf.tidy(() => referenceUntidy(x, w, c));
}

function referenceUntidy(x: tf.Tensor4D, w: tf.Tensor4D, c: Case): tf.Tensor4D {
  const pad =
    typeof c.padding === 'string'
      ? c.padding
      : ([
          [0, 0],
          [c.padding[0], c.padding[1]],
          [c.padding[2], c.padding[3]],
          [0, 0],
        ] as [[0, 0], [number, number], [number, number], [0, 0]]);
  if (c.stride[0] > 1 && c.dilation[0] > 1) {
    const dense = tf.conv2d(x, w, 1, pad, 'NHWC', c.dilation);
    const [n, h, ww, ch] = dense.shape;
    return tf.stridedSlice(dense, [0, 0, 0, 0], [n, h, ww, ch], [1, ...c.stride, 1]) as tf.Tensor4D;
  }
  return tf.conv2d(x, w, c.stride, pad, 'NHWC', c.dilation);
}

describe.each(BACKENDS)('conv2d on %s', (backend) => {
  onBackendWithoutLeaks(backend);

  it.each(CASES)('forward equals tf.conv2d: $name', async (c) => {
    const x = randomTensor<tf.Rank.R4>(c.input, 1);
    const w = randomTensor<tf.Rank.R4>(c.kernel, 2, 0.3);
    const ours = conv2d(x, w, geometryOf(c));
    const ref = reference(x, w, c);
    expect(ours.shape).toEqual(ref.shape);
    expect(relativeError(await toArray(ours), await toArray(ref))).toBeLessThan(1e-5);
    tf.dispose([x, w, ours, ref]);
  });

  it.each(CASES)('gradients match finite differences: $name', async (c) => {
    const x = randomTensor<tf.Rank.R4>(c.input, 3);
    const w = randomTensor<tf.Rank.R4>(c.kernel, 4, 0.3);
    const g = geometryOf(c);
    const error = await gradientCheck(([a, b]) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g), [x, w]);
    expect(error).toBeLessThan(2e-3);
    tf.dispose([x, w]);
  });

  it.each(CASES.filter((c) => c.stride[0] === 1 && c.stride[1] === 1))(
    'the gemm forward (filter on the left) equals tf.conv2d and keeps the gradients: $name',
    async (c) => {
      const x = randomTensor<tf.Rank.R4>(c.input, 14);
      const w = randomTensor<tf.Rank.R4>(c.kernel, 15, 0.3);
      const g = geometryOf(c);
      const ours = conv2d(x, w, g, { forward: 'gemm' });
      const ref = reference(x, w, c);
      expect(ours.shape).toEqual(ref.shape);
      expect(relativeError(await toArray(ours), await toArray(ref))).toBeLessThan(1e-5);
      const error = await gradientCheck(
        ([a, b]) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g, { forward: 'gemm' }),
        [x, w],
      );
      expect(error).toBeLessThan(2e-3);
      tf.dispose([x, w, ours, ref]);
    },
  );

  it.each(CASES)('both filter-gradient formulations (one conv, per-tap matmuls) agree: $name', async (c) => {
    const x = randomTensor<tf.Rank.R4>(c.input, 8);
    const g = geometryOf(c);
    const outShape = tf.tidy(() => conv2d(x, randomTensor(c.kernel, 9), g).shape);
    const dy = randomTensor<tf.Rank.R4>(outShape, 10);
    const byConv = convFilterGradient(x, dy, g, c.kernel, 'conv');
    const byTaps = convFilterGradient(x, dy, g, c.kernel, 'taps');
    expect(relativeError(await toArray(byTaps), await toArray(byConv))).toBeLessThan(1e-5);
    tf.dispose([x, dy, byConv, byTaps]);
  });

  it.each([
    { name: '1x131x129, 3 -> 4 (three uneven bands)', input: [1, 131, 129, 3], dilation: 1 },
    { name: '2x93x90, 2 -> 4, dilation 2 (bands per image)', input: [2, 93, 90, 2], dilation: 2 },
  ] as const)(
    'the per-tap filter gradient of a large map, in bands of rows, equals the conv formulation: $name',
    async ({ input, dilation }) => {
      const kernel: [number, number, number, number] = [3, 3, input[3], 4];
      const g: ConvGeometry = {
        stride: [1, 1],
        dilation: [dilation, dilation],
        padding: [dilation, dilation, dilation, dilation],
      };
      const x = randomTensor<tf.Rank.R4>([...input], 19);
      const dy = randomTensor<tf.Rank.R4>([input[0], input[1], input[2], 4], 20);
      // Over 16384 output pixels: the taps route works in bands.
      expect(input[0] * input[1] * input[2]).toBeGreaterThan(16384);
      const byConv = convFilterGradient(x, dy, g, kernel, 'conv');
      const byBands = convFilterGradient(x, dy, g, kernel, 'taps');
      expect(relativeError(await toArray(byBands), await toArray(byConv))).toBeLessThan(1e-5);
      tf.dispose([x, dy, byConv, byBands]);
    },
  );

  it.each(CASES.filter((c) => c.stride[0] === 1 && c.stride[1] === 1))(
    'the gemm filter gradient (windows^T . dy) equals the conv formulation: $name',
    async (c) => {
      const x = randomTensor<tf.Rank.R4>(c.input, 16);
      const g = geometryOf(c);
      const outShape = tf.tidy(() => conv2d(x, randomTensor(c.kernel, 17), g).shape);
      const dy = randomTensor<tf.Rank.R4>(outShape, 18);
      const byConv = convFilterGradient(x, dy, g, c.kernel, 'conv');
      const byGemm = convFilterGradient(x, dy, g, c.kernel, 'gemm');
      expect(byGemm.shape).toEqual(c.kernel);
      expect(relativeError(await toArray(byGemm), await toArray(byConv))).toBeLessThan(1e-5);
      tf.dispose([x, dy, byConv, byGemm]);
    },
  );

  it.each(CASES.filter((c) => c.stride[0] === 1 && c.stride[1] === 1))(
    'both input-gradient formulations (transposed conv, gemm + col2im) agree: $name',
    async (c) => {
      const x = randomTensor<tf.Rank.R4>(c.input, 11);
      const w = randomTensor<tf.Rank.R4>(c.kernel, 12, 0.3);
      const g = geometryOf(c);
      const outShape = tf.tidy(() => conv2d(x, w, g).shape);
      const dy = randomTensor<tf.Rank.R4>(outShape, 13);
      // The conv route makes intermediates (it runs inside the gradient tape's scope in use).
      const byConv = tf.tidy(() => convInputGradient(dy, w, g, c.input, undefined, 'conv'));
      const byGemm = convInputGradient(dy, w, g, c.input, undefined, 'gemm');
      expect(byGemm.shape).toEqual(c.input);
      expect(relativeError(await toArray(byGemm), await toArray(byConv))).toBeLessThan(1e-5);
      tf.dispose([x, w, dy, byConv, byGemm]);
    },
  );

  it.each(CASES.filter((c) => c.dilation[0] === 1 && c.dilation[1] === 1))(
    'gradients equal tfjs built-in gradients: $name',
    async (c) => {
      const x = randomTensor<tf.Rank.R4>(c.input, 5);
      const w = randomTensor<tf.Rank.R4>(c.kernel, 6, 0.3);
      const outShape = tf.tidy(() => reference(x, w, c).shape);
      const dy = randomTensor<tf.Rank.R4>(outShape, 7);
      const loss = (f: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([
          x,
          w,
        ]);
      const ours = tf.tidy(() => loss((a, b) => conv2d(a, b, geometryOf(c))));
      const oursX = await toArray(ours[0]!);
      const oursW = await toArray(ours[1]!);
      // wasm has no Conv2DBackpropFilter: built-in filter gradients only exist on cpu; its input gradient exists on both.
      const refXTensor = tf.tidy(() =>
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(reference(a as tf.Tensor4D, w, c), dy)))(x),
      );
      const refX = await toArray(refXTensor);
      refXTensor.dispose();
      expect(relativeError(oursX, refX)).toBeLessThan(1e-5);
      if (backend === 'cpu') {
        const refWTensor = tf.tidy(() =>
          tf.grad((b: tf.Tensor) => tf.sum(tf.mul(reference(x, b as tf.Tensor4D, c), dy)))(w),
        );
        const refW = await toArray(refWTensor);
        refWTensor.dispose();
        expect(relativeError(oursW, refW)).toBeLessThan(1e-5);
      }
      tf.dispose([x, w, dy, ...ours]);
    },
  );
});

describe('filter-gradient route', () => {
  it('takes gemm at stride 1 up to 8M window elements, taps beyond, Winograd where it pays, and keeps the old rule for strides', async () => {
    const { filterGradientRoute } = await import('../src/ops/conv.js');
    const pad = (p: number, stride = 1, dilation = 1): ConvGeometry => ({
      stride: [stride, stride],
      dilation: [dilation, dilation],
      padding: [p, p, p, p],
    });
    // fc6 on a 3x3 map, DeepLab's dilated 12x12 convs, the first layer's 3 channels.
    expect(filterGradientRoute([4, 3, 3, 128], [4, 3, 3, 1024], [7, 7, 128, 1024], pad(3))).toBe('gemm');
    expect(filterGradientRoute([4, 12, 12, 128], [4, 12, 12, 128], [3, 3, 128, 128], pad(2, 1, 2))).toBe(
      'gemm',
    );
    expect(filterGradientRoute([4, 96, 96, 3], [4, 96, 96, 16], [3, 3, 3, 16], pad(1))).toBe('gemm');
    // VGG16's conv1_2 at 224x224 dilated by 2: 29M window elements.
    expect(filterGradientRoute([1, 224, 224, 64], [1, 224, 224, 64], [3, 3, 64, 64], pad(2, 1, 2))).toBe(
      'taps',
    );
    // Undilated 3x3 on wasm (conv-winograd.ts says where).
    expect(filterGradientRoute([1, 224, 224, 64], [1, 224, 224, 64], [3, 3, 64, 64], pad(1))).toBe(
      tf.getBackend() === 'wasm' ? 'winograd' : 'taps',
    );
    expect(filterGradientRoute([4, 24, 24, 64], [4, 12, 12, 64], [3, 3, 64, 64], pad(1, 2))).toBe('conv');
    expect(filterGradientRoute([2, 24, 24, 64], [2, 12, 12, 64], [3, 3, 64, 64], pad(1, 2))).toBe('taps');
  });
});

describe('input-gradient route', () => {
  it('takes gemm for a filter that dwarfs its output (fc6 on a 3x3 map), conv otherwise', async () => {
    const { prefersGemm } = await import('../src/ops/conv-gemm.js');
    const same = (k: number) => ({
      stride: [1, 1] as [number, number],
      dilation: [1, 1] as [number, number],
      padding: [k, k, k, k] as [number, number, number, number],
    });
    expect(prefersGemm([1, 3, 3, 80], [7, 7, 5, 80], same(3))).toBe(true);
    expect(prefersGemm([8, 3, 3, 1024], [7, 7, 128, 1024], same(3))).toBe(true);
    expect(prefersGemm([8, 24, 24, 64], [3, 3, 64, 64], same(1))).toBe(false);
    // fc7 too: a 1x1 filter of 1024x1024 on 72 pixels.
    expect(prefersGemm([8, 3, 3, 1024], [1, 1, 1024, 1024], same(0))).toBe(true);
    expect(prefersGemm([8, 12, 12, 1024], [1, 1, 1024, 1024], same(0))).toBe(false);
    expect(prefersGemm([1, 3, 3, 1024], [3, 3, 128, 1024], { ...same(1), stride: [2, 2] })).toBe(false);
  });

  it('also takes gemm for the input gradient of a filter larger than the cache on a small map (VGG conv5 at 14x14)', async () => {
    const { prefersGemmInputGradient } = await import('../src/ops/conv-gemm.js');
    const same: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] };
    expect(prefersGemmInputGradient([1, 14, 14, 512], [3, 3, 512, 512], same)).toBe(true);
    expect(prefersGemmInputGradient([8, 3, 3, 1024], [7, 7, 128, 1024], same)).toBe(true);
    // Larger maps, small filters and strides keep the conv route.
    expect(prefersGemmInputGradient([1, 28, 28, 512], [3, 3, 512, 512], same)).toBe(false);
    expect(prefersGemmInputGradient([4, 6, 6, 128], [3, 3, 128, 128], same)).toBe(false);
    expect(prefersGemmInputGradient([1, 7, 7, 512], [3, 3, 512, 512], { ...same, stride: [2, 2] })).toBe(
      false,
    );
  });
});

describe('Conv2d in training mode (gemm forward) and in evaluation mode (tfjs conv)', () => {
  onBackendWithoutLeaks('wasm');
  it('give the same output for fc6 on a 3x3 map, and the gemm route runs no Conv2D kernel, gradients included', async () => {
    const { Conv2d } = await import('../src/index.js');
    const { Rng } = await import('@semseg/core');
    const layer = new Conv2d({
      inChannels: 6,
      outChannels: 320,
      kernelSize: 7,
      padding: 'same',
      rng: new Rng(4),
    });
    // Batch 4: below it the filter gradient would take per-tap matmuls (no Conv2D) anyway.
    const x = randomTensor<tf.Rank.R4>([4, 3, 3, 6], 16);
    const kernelsOf = async (f: () => tf.Tensor) => {
      const profile = await tf.profile(() => f());
      tf.dispose(profile.result as tf.Tensor);
      return profile.kernelNames;
    };
    layer.train(true);
    const training = layer.forward(x);
    expect(await kernelsOf(() => layer.forward(x))).not.toContain('Conv2D');
    // Nor do its gradients: the filter's is one matmul of the windows and the output gradient.
    const dy = randomTensor<tf.Rank.R4>([4, 3, 3, 320], 17);
    const backward = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.forward(x), dy)) as tf.Scalar);
      return [value, ...Object.values(grads)];
    });
    tf.dispose([dy, ...(backward.result as tf.Tensor[])]);
    expect(backward.kernelNames).toContain('BatchMatMul');
    expect(backward.kernelNames).not.toContain('Conv2D');
    layer.train(false);
    const evaluation = layer.forward(x);
    // Evaluation runs tfjs's conv with the bias inside its kernel.
    expect(await kernelsOf(() => layer.forward(x))).toContain('FusedConv2D');
    expect(relativeError(await toArray(training), await toArray(evaluation))).toBeLessThan(1e-5);
    tf.dispose([x, training, evaluation]);
    layer.dispose();
  });
});

for (const backend of BACKENDS) {
  describe(`Conv2d in evaluation mode: bias and ReLU inside the conv's kernel (${backend})`, () => {
    onBackendWithoutLeaks(backend);
    for (const c of CASES) {
      it(`${c.name}: equals conv, bias and ReLU run apart, as one FusedConv2D kernel`, async () => {
        const { Conv2d } = await import('../src/index.js');
        const { Rng } = await import('@semseg/core');
        const layer = new Conv2d({
          inChannels: c.kernel[2],
          outChannels: c.kernel[3],
          kernelSize: [c.kernel[0], c.kernel[1]],
          stride: c.stride,
          dilation: c.dilation,
          padding: c.padding,
          rng: new Rng(9),
        });
        // A bias of both signs, so that the ReLU cuts outputs the bias moved across zero.
        tf.tidy(() => layer.bias!.assign(randomTensor<tf.Rank.R1>([c.kernel[3]], 21)));
        const x = randomTensor<tf.Rank.R4>(c.input, 22);
        const geometry = layer.geometryFor([c.input[1], c.input[2]]);
        const apart = tf.tidy(() =>
          tf.relu(tf.add(conv2d(x, layer.weight as tf.Tensor4D, geometry), layer.bias!)),
        );
        layer.eval();
        const profile = await tf.profile(() => layer.forward(x, { activation: 'relu' }));
        const fused = profile.result as tf.Tensor4D;
        expect(profile.kernelNames).toContain('FusedConv2D');
        expect(profile.kernelNames).not.toContain('Relu');
        expect(profile.kernelNames).not.toContain('Add');
        expect(fused.shape).toEqual(apart.shape);
        expect(relativeError(await toArray(fused), await toArray(apart))).toBeLessThan(1e-5);
        // Without an activation: the bias alone, still in the kernel.
        const linear = layer.forward(x);
        const biased = tf.tidy(() => tf.add(conv2d(x, layer.weight as tf.Tensor4D, geometry), layer.bias!));
        expect(relativeError(await toArray(linear), await toArray(biased))).toBeLessThan(1e-5);
        tf.dispose([x, apart, fused, linear, biased]);
        layer.dispose();
      });
    }

    it('keeps its own gradients while one is recorded (a frozen layer in eval mode, dilated, stride 2)', async () => {
      const { Conv2d } = await import('../src/index.js');
      const { Rng } = await import('@semseg/core');
      // tfjs's conv2d gradient rejects dilation > 1, and wasm has no filter gradient kernel: the
      // fused kernel is for inference only.
      const layer = new Conv2d({
        inChannels: 2,
        outChannels: 3,
        kernelSize: 3,
        stride: 2,
        dilation: 2,
        padding: 2,
        rng: new Rng(3),
      });
      tf.tidy(() => layer.bias!.assign(randomTensor<tf.Rank.R1>([3], 5)));
      const x = randomTensor<tf.Rank.R4>([1, 9, 10, 2], 6);
      const loss = () => tf.sum(tf.square(layer.forward(x, { activation: 'relu' }))) as tf.Scalar;
      const gradients = () => {
        const { value, grads } = tf.variableGrads(loss, [layer.weight, layer.bias!]);
        const dx = tf.grad((input: tf.Tensor) =>
          tf.sum(tf.square(layer.forward(input as tf.Tensor4D, { activation: 'relu' }))),
        )(x);
        return [value, grads[layer.weight.name]!, grads[layer.bias!.name]!, dx];
      };
      layer.train(true);
      const trained = gradients();
      layer.eval();
      const frozen = gradients();
      for (let i = 0; i < trained.length; i++)
        expect(relativeError(await toArray(frozen[i]!), await toArray(trained[i]!))).toBeLessThan(1e-5);
      tf.dispose([x, ...trained, ...frozen]);
      layer.dispose();
    });
  });
}

describe('the transposed windows of the gemm routes on wasm', () => {
  onBackendWithoutLeaks('wasm');
  // core's one-kernel version against the pad, slices and concat it replaces: the same bits.
  for (const c of CASES.filter((k) => k.stride[0] === 1 && k.stride[1] === 1)) {
    it(`${c.name}: the kernel's windows equal the tfjs ops' exactly`, async () => {
      const { CONV_WINDOWS, hasConvWindows, patchWasmKernels } = await import('@semseg/core');
      const { windowsTransposed } = await import('../src/ops/conv-gemm.js');
      const x = randomTensor<tf.Rank.R4>(c.input, 31);
      const geometry = geometryOf(c);
      expect(hasConvWindows()).toBe(true);
      const kernel = windowsTransposed(x, c.kernel, geometry);
      tf.unregisterKernel(CONV_WINDOWS, 'wasm');
      try {
        const ops = windowsTransposed(x, c.kernel, geometry);
        expect(kernel.shape).toEqual(ops.shape);
        expect(Array.from(await kernel.data())).toEqual(Array.from(await ops.data()));
        tf.dispose(ops);
      } finally {
        patchWasmKernels();
      }
      tf.dispose([x, kernel]);
    });
  }
  it('with negative padding (a crop before the window)', async () => {
    const { CONV_WINDOWS, patchWasmKernels } = await import('@semseg/core');
    const { windowsTransposed } = await import('../src/ops/conv-gemm.js');
    const x = randomTensor<tf.Rank.R4>([2, 9, 8, 3], 32);
    const geometry: ConvGeometry = { stride: [1, 1], dilation: [1, 2], padding: [-2, 1, -1, 0] };
    const kernel = windowsTransposed(x, [3, 2, 3, 4], geometry);
    tf.unregisterKernel(CONV_WINDOWS, 'wasm');
    try {
      const ops = windowsTransposed(x, [3, 2, 3, 4], geometry);
      expect(Array.from(await kernel.data())).toEqual(Array.from(await ops.data()));
      tf.dispose(ops);
    } finally {
      patchWasmKernels();
    }
    tf.dispose([x, kernel]);
  });
});

describe('a convolution larger than its input', () => {
  it('is a ConfigError naming the sizes (wasm would abort inside XNNPACK)', () => {
    const x = tf.zeros([1, 1, 1, 2]) as tf.Tensor4D;
    const w = tf.zeros([7, 7, 2, 3]) as tf.Tensor4D;
    const g = {
      stride: [1, 1] as [number, number],
      dilation: [1, 1] as [number, number],
      padding: [0, 0, 0, 0] as [number, number, number, number],
    };
    expect(() => conv2d(x, w, g)).toThrow(
      /a 7x7 convolution does not fit its 1x1 input \(1x1 padded\): the input image is too small/,
    );
    // Padding that makes room is fine.
    const y = conv2d(x, w, { ...g, padding: [3, 3, 3, 3] });
    expect(y.shape).toEqual([1, 1, 1, 3]);
    tf.dispose([x, w, y]);
  });
});
