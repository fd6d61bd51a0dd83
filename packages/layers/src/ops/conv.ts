import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  convFilterGradientByGemm,
  convForwardByGemm,
  convInputGradientByGemm,
  prefersGemm,
  prefersGemmInputGradient,
  stride1Output,
} from './conv-gemm.js';
import {
  convFilterGradientByWinograd,
  convForwardByWinograd,
  convInputGradientByWinograd,
  prefersWinograd,
  prefersWinogradFilterGradient,
} from './conv-winograd.js';
import { type Padding4, type Pair, effectiveKernel, padOrCrop } from './geometry.js';
import { transposedConvWindow } from './transposed-conv.js';

/** How a convolution slides: stride and dilation per axis, padding [top, bottom, left, right]. */
export interface ConvGeometry {
  stride: Pair;
  dilation: Pair;
  padding: Padding4;
}

/** A convolution with 'valid' padding; the transposed convolution is written against this. */
export type ValidConv = (x: tf.Tensor4D, filter: tf.Tensor4D, stride: Pair, dilation: Pair) => tf.Tensor4D;

const NO_PADDING: Padding4 = [0, 0, 0, 0];

/**
 * What a convolution's kernel can apply to its output in the same pass: a per-channel bias and a
 * ReLU (tfjs's FusedConv2D: XNNPACK on wasm adds the bias and clamps in its microkernel, so the
 * map is written once instead of three times).
 */
export interface ConvEpilogue {
  bias?: tf.Tensor1D | null;
  activation?: 'linear' | 'relu';
}

/**
 * Whether a gradient is being recorded (inside tf.grad / variableGrads). The fused kernel's own
 * gradient would be tfjs's conv2d gradient (no filter gradient on wasm, no dilation), so layers
 * fuse only when nothing is recorded.
 */
export function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/**
 * tfjs's forward conv2d for any geometry. tfjs refuses stride > 1 together with dilation > 1, so
 * that combination runs at stride 1 and keeps every stride-th output (exact, slower). With an
 * epilogue, the bias and activation run inside the convolution's kernel (inference only: tfjs
 * unfuses it again while a gradient is recorded).
 */
export function forwardConv(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  epilogue: ConvEpilogue = {},
): tf.Tensor4D {
  return tf.tidy(() => forwardConvUntidy(x, filter, geometry, epilogue));
}

/**
 * A convolution at inference (a fixed filter, nothing recorded) with its epilogue: Winograd where
 * `prefersWinograd` says so (the bias and ReLU in its output pass), else tfjs's fused conv2d.
 * Measured on wasm against XNNPACK's convolution with its filter packing cached, ms: VGG16 at
 * 1x224x224 conv1_2 113 / 90, conv2_2 102 / 76, conv3_2 108 / 72, conv4_2 117 / 89.
 */
export function inferenceConv(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  epilogue: ConvEpilogue = {},
): tf.Tensor4D {
  if (
    geometry.stride[0] === 1 &&
    geometry.stride[1] === 1 &&
    prefersWinograd(stride1Output(x.shape, filter.shape, geometry), filter.shape, geometry)
  ) {
    checkFits(x, filter, geometry);
    return convForwardByWinograd(x, filter, geometry, epilogue);
  }
  return forwardConv(x, filter, geometry, epilogue);
}

/** A window larger than the padded input: a ConfigError, not wasm's abort inside XNNPACK. */
function checkFits(x: tf.Tensor4D, filter: tf.Tensor4D, { dilation, padding }: ConvGeometry): void {
  const [, h, w] = x.shape;
  const [kh, kw] = filter.shape;
  const spanH = effectiveKernel(kh, dilation[0]);
  const spanW = effectiveKernel(kw, dilation[1]);
  const paddedH = h + padding[0] + padding[1];
  const paddedW = w + padding[2] + padding[3];
  if (spanH > paddedH || spanW > paddedW)
    throw new ConfigError(
      `a ${kh}x${kw} convolution${dilation[0] > 1 || dilation[1] > 1 ? ` (dilation ${dilation[0]}x${dilation[1]})` : ''} does not fit its ${h}x${w} input (${paddedH}x${paddedW} padded): the input image is too small for this model`,
    );
}

function forwardConvUntidy(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  { bias = null, activation = 'linear' }: ConvEpilogue,
): tf.Tensor4D {
  checkFits(x, filter, geometry);
  const { stride, dilation } = geometry;
  let input = x;
  let padding = geometry.padding;
  if (padding.some((p) => p < 0)) {
    input = padOrCrop(x, padding);
    padding = NO_PADDING;
  }
  const pad: 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] = padding.every((p) => p === 0)
    ? 'valid'
    : [
        [0, 0],
        [padding[0], padding[1]],
        [padding[2], padding[3]],
        [0, 0],
      ];
  const run = (strides: Pair | 1): tf.Tensor4D =>
    bias === null && activation === 'linear'
      ? tf.conv2d(input, filter, strides, pad, 'NHWC', dilation)
      : tf.fused.conv2d({
          x: input,
          filter,
          strides,
          pad,
          dataFormat: 'NHWC',
          dilations: dilation,
          ...(bias ? { bias } : {}),
          activation,
        });
  const unitStride = stride[0] === 1 && stride[1] === 1;
  const unitDilation = dilation[0] === 1 && dilation[1] === 1;
  if (unitStride || unitDilation) return run(stride);
  // Bias and ReLU act per element: applying them before the subsampling is the same.
  const dense = run(1);
  const [n, h, w, c] = dense.shape;
  return tf.stridedSlice(dense, [0, 0, 0, 0], [n, h, w, c], [1, stride[0], stride[1], 1]) as tf.Tensor4D;
}

const plainValidConv: ValidConv = (x, filter, stride, dilation) =>
  forwardConv(x, filter, { stride, dilation, padding: NO_PADDING });

/**
 * How the filter gradient is computed: 'conv', one forward conv of transposed input and output
 * gradient (the batch as its channels); 'taps', one matmul per kernel tap; 'gemm', one matmul of
 * all the windows and the output gradient (stride 1 only); 'winograd', F(2x2, 3x3) (3x3 stride 1
 * on wasm, conv-winograd.ts). 'auto' chooses by measurement on wasm
 * (`filterGradientRoute`).
 */
export type FilterGradientMethod = 'auto' | 'conv' | 'taps' | 'gemm' | 'winograd';

/** Below this batch the conv formulation has fewer than 4 channels, which XNNPACK runs 2-3x slower. */
const TAPS_BELOW_BATCH = 4;
/** The gemm route materialises kh*kw*Cin x pixels windows: up to this many elements (32 MB). */
const GEMM_WINDOWS_LIMIT = 1 << 23;
/** Above this many output pixels the per-tap filter gradient runs in bands of CHUNK_PIXELS. */
const CHUNK_ABOVE_PIXELS = 16384;
const CHUNK_PIXELS = 8192;

/**
 * Gradient of a convolution with respect to its filter. As one forward convolution: the input
 * transposed to [Cin, H, W, N] convolved with the output gradient transposed to [OH, OW, N, Cout],
 * the forward conv's strides becoming this conv's dilations and its dilations the strides. Or,
 * equivalently, per tap: dW[i, j] = x(shifted by the tap)^T . dy as a [Cin, P] x [P, Cout] matmul.
 */
export function convFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  geometry: ConvGeometry,
  filterShape: readonly [number, number, number, number],
  method: FilterGradientMethod = 'auto',
): tf.Tensor4D {
  return tf.tidy(() => filterGradient(x, dy, geometry, filterShape, method));
}

function filterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  geometry: ConvGeometry,
  filterShape: readonly [number, number, number, number],
  method: FilterGradientMethod,
): tf.Tensor4D {
  const route = method === 'auto' ? filterGradientRoute(x.shape, dy.shape, filterShape, geometry) : method;
  if (route === 'gemm') return convFilterGradientByGemm(x, dy, geometry, filterShape);
  if (route === 'winograd') return convFilterGradientByWinograd(x, dy, geometry, filterShape);
  const [kh, kw] = filterShape;
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  const { stride, dilation, padding } = geometry;
  // Exactly the rows and columns the forward windows read: remainders never reached are cut.
  const needH = (oh - 1) * stride[0] + (kh - 1) * dilation[0] + 1;
  const needW = (ow - 1) * stride[1] + (kw - 1) * dilation[1] + 1;
  const xp = padOrCrop(x, [padding[0], needH - h - padding[0], padding[2], needW - w - padding[2]]);
  if (route === 'taps') return filterGradientByTaps(xp, dy, geometry, filterShape);
  const xT = tf.transpose(xp, [3, 1, 2, 0]);
  const dyT = tf.transpose(dy, [1, 2, 0, 3]);
  const grad = forwardConv(xT, dyT, { stride: dilation, dilation: stride, padding: NO_PADDING });
  return tf.transpose(grad, [1, 2, 0, 3]);
}

/**
 * The filter gradient's route on 'auto', chosen by measuring the three against each other (wasm,
 * batch 1-8, FCN, DeepLab and VGG16 layer shapes):
 * - stride 1: gemm, one tall matmul over all the windows, up to 8M window elements (32 MB);
 *   per-tap matmuls (banded over 16K pixels) beyond that, where the two ran within 10% of each
 *   other. The conv formulation was never the fastest at stride 1: DeepLab-LargeFOV w1/4 at
 *   batch 4, fc6 231 -> 66 ms and fc7 105 -> 58; FCN w1/4's 12x12x128 convs 29 -> 13, and even
 *   the 3-channel first layer 9.1 -> 5.1.
 * - strided convs: taps below batch 4, else the conv formulation (XNNPACK runs it 2-3x slower
 *   with fewer than 4 channels, the batch).
 * - 3x3 stride 1 on wasm, at least 16 channels each side, 32 tiles and a tile per 8,192 filter
 *   elements: Winograd F(2x2, 3x3), in bands of at most 4,096 tiles (`prefersWinogradFilterGradient`).
 */
export function filterGradientRoute(
  inputShape: readonly [number, number, number, number],
  outputShape: readonly [number, number, number, number],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): 'conv' | 'taps' | 'gemm' | 'winograd' {
  if (prefersGemm(outputShape, filterShape, geometry)) return 'gemm';
  if (prefersWinogradFilterGradient(outputShape, filterShape, geometry)) return 'winograd';
  if (geometry.stride[0] === 1 && geometry.stride[1] === 1) {
    const [kh, kw, ci] = filterShape;
    const pixels = outputShape[0] * outputShape[1] * outputShape[2];
    return kh * kw * ci * pixels <= GEMM_WINDOWS_LIMIT ? 'gemm' : 'taps';
  }
  return inputShape[0] < TAPS_BELOW_BATCH ? 'taps' : 'conv';
}

function filterGradientByTaps(
  xp: tf.Tensor4D,
  dy: tf.Tensor4D,
  { stride, dilation }: ConvGeometry,
  [kh, kw, ci, co]: readonly [number, number, number, number],
): tf.Tensor4D {
  const [n] = xp.shape;
  const [, oh, ow] = dy.shape;
  const pixels = n * oh * ow;
  const channelsFirst = tf.transpose(xp, [3, 0, 1, 2]);
  if (stride[0] === 1 && stride[1] === 1 && pixels > CHUNK_ABOVE_PIXELS)
    return filterGradientByRowChunks(channelsFirst, dy, dilation, [kh, kw, ci, co]);
  const dyRows = tf.reshape(dy, [pixels, co]);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // One tap at a time inside its own tidy: only one shifted copy of x is alive at once.
      taps.push(
        tf.tidy(() => {
          const top = i * dilation[0];
          const left = j * dilation[1];
          const shifted =
            stride[0] === 1 && stride[1] === 1
              ? tf.slice(channelsFirst, [0, 0, top, left], [ci, n, oh, ow])
              : tf.stridedSlice(
                  channelsFirst,
                  [0, 0, top, left],
                  [ci, n, top + (oh - 1) * stride[0] + 1, left + (ow - 1) * stride[1] + 1],
                  [1, 1, stride[0], stride[1]],
                );
          return tf.matMul(tf.reshape(shifted, [ci, pixels]), dyRows);
        }),
      );
    }
  }
  return tf.reshape(tf.stack(taps), [kh, kw, ci, co]);
}

/**
 * The per-tap filter gradient over bands of output rows, accumulated: each tap's matmul
 * contracts over the pixels, and with all of a large map's pixels in one product ([64, 50176] x
 * [50176, 64] for VGG's conv1_2) XNNPACK streams both operands from memory for every output tile.
 * Bands of ~8K pixels stay in cache; the band's output gradient is the packed operand, shared by
 * the nine taps (XNNPACK caches its packing by tensor). conv1_2 at 224x224: 288 -> 165 ms (wasm).
 */
function filterGradientByRowChunks(
  channelsFirst: tf.Tensor4D,
  dy: tf.Tensor4D,
  dilation: Pair,
  [kh, kw, ci, co]: readonly [number, number, number, number],
): tf.Tensor4D {
  const [n, oh, ow] = dy.shape;
  const bands = Math.ceil(oh / Math.max(1, Math.floor(CHUNK_PIXELS / ow)));
  const rowsPerBand = Math.ceil(oh / bands);
  let sums: tf.Tensor2D[] | null = null;
  for (let b = 0; b < n; b++) {
    for (let r0 = 0; r0 < oh; r0 += rowsPerBand) {
      const rows = Math.min(rowsPerBand, oh - r0);
      const previous: tf.Tensor2D[] | null = sums;
      sums = tf.tidy(() => {
        const dyBand = tf.reshape(tf.slice(dy, [b, r0, 0, 0], [1, rows, ow, co]), [
          rows * ow,
          co,
        ]) as tf.Tensor2D;
        const parts: tf.Tensor2D[] = [];
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const start = [0, b, r0 + i * dilation[0], j * dilation[1]];
            const band = tf.reshape(tf.slice(channelsFirst, start, [ci, 1, rows, ow]), [
              ci,
              rows * ow,
            ]) as tf.Tensor2D;
            const part = tf.matMul(band, dyBand) as tf.Tensor2D;
            parts.push(previous ? (tf.add(previous[parts.length]!, part) as tf.Tensor2D) : part);
          }
        return parts;
      });
      if (previous) tf.dispose(previous);
    }
  }
  return tf.reshape(tf.stack(sums!), [kh, kw, ci, co]);
}

/**
 * How the input gradient is computed: 'conv', a transposed convolution built from forward convs;
 * 'gemm', one matmul and a col2im (stride 1 only); 'winograd', F(2x2, 3x3) (3x3 stride 1 on wasm,
 * conv-winograd.ts); 'auto' takes gemm where the filter dwarfs the output gradient, or outgrows the
 * cache on a small map (conv-gemm.ts says why), then Winograd where it measured faster.
 */
export type InputGradientMethod = 'auto' | 'conv' | 'gemm' | 'winograd';

/** Gradient of a convolution with respect to its input. */
export function convInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  inputShape: readonly [number, number, number, number],
  conv: ValidConv = plainValidConv,
  method: InputGradientMethod = 'auto',
): tf.Tensor4D {
  // A tidy of its own: the transposed-conv route makes intermediates, and callers outside a
  // gradient function (tests, custom ops) would keep them.
  return tf.tidy(() => inputGradient(dy, filter, geometry, inputShape, conv, method));
}

function inputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  inputShape: readonly [number, number, number, number],
  conv: ValidConv,
  method: InputGradientMethod,
): tf.Tensor4D {
  const { stride, dilation, padding } = geometry;
  // Gemm first where the filter dwarfs the output (fc6 on a 3x3 map), then Winograd, then gemm
  // for a filter larger than the cache (VGG16's conv5 at batch 1: 20.5 / 19.6 ms gemm / Winograd,
  // at batch 2 39.6 / 29.1).
  const auto = method === 'auto';
  if (method === 'gemm' || (auto && prefersGemm(dy.shape, filter.shape, geometry)))
    return convInputGradientByGemm(dy, filter, geometry, inputShape);
  if (method === 'winograd' || (auto && prefersWinograd(dy.shape, filter.shape, geometry)))
    return convInputGradientByWinograd(dy, filter, geometry, inputShape);
  if (auto && prefersGemmInputGradient(dy.shape, filter.shape, geometry))
    return convInputGradientByGemm(dy, filter, geometry, inputShape);
  return transposedConvWindow(
    dy,
    filter,
    stride,
    dilation,
    [padding[0], padding[2]],
    [inputShape[1], inputShape[2]],
    conv,
  );
}

/**
 * How the forward is computed: 'conv', tfjs's conv2d (XNNPACK on wasm, which caches its packing
 * of the filter: fastest for a filter that stays the same between calls); 'gemm', a matmul with
 * the filter on the left (conv-gemm.ts: for a filter that is new every call, as while training);
 * 'winograd', F(2x2, 3x3) (3x3 stride 1 on wasm, conv-winograd.ts); 'auto', Winograd where it
 * measured faster (`prefersWinograd`), gemm for a stride-1 convolution whose filter dwarfs its
 * output, conv otherwise.
 */
export type ForwardMethod = 'auto' | 'conv' | 'gemm' | 'winograd';

export interface Conv2dOptions {
  /** Default 'conv'; layers pass 'auto' in training mode, where the filter changes every step. */
  forward?: ForwardMethod;
}

/** A convolution's forward by `method` (Conv2dOptions.forward). */
export function convForward(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  method: ForwardMethod,
): tf.Tensor4D {
  const unitStride = geometry.stride[0] === 1 && geometry.stride[1] === 1;
  if (method === 'conv' || !unitStride) return forwardConv(x, filter, geometry);
  checkFits(x, filter, geometry);
  const output = stride1Output(x.shape, filter.shape, geometry);
  if (method === 'winograd' || (method === 'auto' && prefersWinograd(output, filter.shape, geometry)))
    return convForwardByWinograd(x, filter, geometry);
  if (method === 'gemm' || prefersGemm(output, filter.shape, geometry))
    return convForwardByGemm(x, filter, geometry);
  return forwardConv(x, filter, geometry);
}

/**
 * 2-D convolution (NHWC input, HWIO filter) whose gradients are forward convolutions or matmuls,
 * so it trains on backends that lack Conv2DBackpropFilter (wasm), fast on cpu, and with dilation
 * > 1 (which tfjs's own conv2d gradient rejects). Values equal tf.conv2d with the same geometry.
 */
export function conv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  options: Conv2dOptions = {},
): tf.Tensor4D {
  const method = options.forward ?? 'conv';
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const kernel = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([input, kernel]);
    return {
      value: convForward(input, kernel, geometry, method),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const savedInput = saved[0] as tf.Tensor4D;
        const savedKernel = saved[1] as tf.Tensor4D;
        const dy4 = dy as tf.Tensor4D;
        return [
          convInputGradient(dy4, savedKernel, geometry, savedInput.shape),
          convFilterGradient(savedInput, dy4, geometry, savedKernel.shape),
        ];
      },
    };
  });
  return tf.tidy(() => op(x, filter) as tf.Tensor4D);
}

/** The differentiable conv above in the `ValidConv` shape, for layers built on it. */
export const trainableValidConv: ValidConv = (x, filter, stride, dilation) =>
  conv2d(x, filter, { stride, dilation, padding: NO_PADDING });
