import {
  WINOGRAD_GRADIENT,
  WINOGRAD_INPUT,
  WINOGRAD_OUTPUT,
  type WinogradAttrs,
  hasWinogradTransforms,
} from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ConvEpilogue, ConvGeometry } from './conv.js';

// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), on wasm. Per 2x2 output tile with input
// window d (4x4) and filter g:
//   forward          Y  = A^T [ (G g G^T) (.) (B^T d B) ] A
//   filter gradient  dW = G^T [ sum over tiles (A dY A^T) (.) (B^T d B) ] G
// and the input gradient is the forward's correlation of dy with the filter rotated by 180
// degrees. Each sum over channels (or tiles) is, per transformed position (16), one matmul:
// 16 multiply-adds per tile and channel pair where the direct product has 9 per output pixel,
// 36 per tile (2.25x fewer). core's kernels write the transformed data and read the result.

/** G^T (x) G^T as a [9, 16] matrix: dW[i, j] = sum over (xi, nu) of G[xi, i] G[nu, j] dU[xi, nu]. */
const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];
const OUTPUT_TRANSFORM = Float32Array.from({ length: 9 * 16 }, (_, at) => {
  const [tap, e] = [Math.floor(at / 16), at % 16];
  return G[Math.floor(e / 4)]![Math.floor(tap / 3)]! * G[e % 4]![tap % 3]!;
});

/** G (x) G as a [16, 9] matrix: the filter transform U[xi, nu] = sum over (i, j) of G[xi, i] G[nu, j] g[i, j]. */
const FILTER_TRANSFORM = Float32Array.from(
  { length: 16 * 9 },
  (_, at) => OUTPUT_TRANSFORM[(at % 9) * 16 + Math.floor(at / 9)]!,
);
/** The same for the filter rotated by 180 degrees: tap t of the rotated filter is tap 8 - t. */
const ROTATED_FILTER_TRANSFORM = Float32Array.from(
  { length: 16 * 9 },
  (_, at) => FILTER_TRANSFORM[Math.floor(at / 9) * 9 + 8 - (at % 9)]!,
);

/** Fewer tiles than this leave the 16 matmuls small against the transforms (`prefersWinograd`). */
const MIN_TILES = 32;
/** Narrower convolutions (8 channels) ran slower by Winograd's transforms than directly. */
const MIN_CHANNELS = 16;
/** The filter gradient's filter-sized work per call against its tiles (`prefersWinogradFilterGradient`). */
const FILTER_ELEMENTS_PER_TILE = 8192;
/** The filter gradient's matmuls contract over the tiles: longer ones streamed from memory (VGG16's conv1_2, 12,544), so it runs in bands of at most this many, summed. */
const MAX_FILTER_GRADIENT_TILES = 4096;

/**
 * The transformed data are 4x the map they come from (16 values per 2x2 tile): larger maps run in
 * bands of output rows whose transformed operands stay under this many elements (64 MB as
 * float32; FCN's 698x698 conv1 at 500x500 would need 500 MB per operand in one piece).
 */
const MAX_TRANSFORMED = 1 << 24;

/**
 * Whether the Winograd routes can run here: 3x3, stride and dilation 1, Cin and Cout multiples of
 * 4 (core's transforms move four channels per instruction), wasm.
 */
export function winogradApplies(
  filterShape: readonly [number, number, number, number],
  { stride, dilation }: ConvGeometry,
): boolean {
  const [kh, kw, ci, co] = filterShape;
  return (
    kh === 3 &&
    kw === 3 &&
    ci % 4 === 0 &&
    co % 4 === 0 &&
    stride[0] === 1 &&
    stride[1] === 1 &&
    dilation[0] === 1 &&
    dilation[1] === 1 &&
    hasWinogradTransforms()
  );
}

/** dW (HWIO) of a 3x3 stride-1 convolution of NHWC `x`, from its output gradient `dy`. */
export function convFilterGradientByWinograd(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  geometry: ConvGeometry,
  filterShape: readonly [number, number, number, number],
): tf.Tensor4D {
  if (!winogradApplies(filterShape, geometry))
    throw new Error(
      'convFilterGradientByWinograd: a 3x3 stride-1 undilated filter with Cin, Cout % 4 == 0, on wasm',
    );
  return tf.tidy(() => {
    const [, , ci, co] = filterShape;
    const [n, oh, ow] = dy.shape;
    const [top, left] = [geometry.padding[0], geometry.padding[2]];
    // Bands of output rows: the products' reductions over at most MAX_FILTER_GRADIENT_TILES tiles
    // each (longer ones stream from memory), summed.
    const rows = bandRows(n, ow, Math.max(ci, co), MAX_FILTER_GRADIENT_TILES);
    let sum: tf.Tensor2D | null = null;
    for (let r0 = 0; r0 < oh; r0 += rows) {
      const band = Math.min(rows, oh - r0);
      const input = bandInput(x, top, r0, band);
      const gradient = band === oh ? dy : tf.slice(dy, [0, r0, 0, 0], [n, band, ow, co]);
      const attrs: WinogradAttrs = {
        tiles: [Math.ceil(band / 2), Math.ceil(ow / 2)],
        offset: [input.offset, left],
      };
      const run = (name: string, inputs: tf.NamedTensorMap) =>
        tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
      const windows = run(WINOGRAD_INPUT, { x: input.rows }); // [16, P, Cin]
      const gradients = run(WINOGRAD_GRADIENT, { dy: gradient }); // [16, P, Cout]
      // [16, Cout, Cin]: core's matmul reads A^T a column of four rows at a time.
      const products = tf.reshape(tf.matMul(gradients, windows, true), [16, co * ci]) as tf.Tensor2D;
      sum = sum === null ? products : (tf.add(sum, products) as tf.Tensor2D);
    }
    const taps = tf.matMul(tf.tensor2d(OUTPUT_TRANSFORM, [9, 16]), sum!);
    return tf.transpose(tf.reshape(taps, [3, 3, co, ci]), [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

/**
 * Output rows per band (even, at least 2) so that a band has at most `maxTiles` tiles and its
 * transformed operands at most MAX_TRANSFORMED elements.
 */
function bandRows(n: number, ow: number, channels: number, maxTiles = Number.POSITIVE_INFINITY): number {
  const tilesPerTileRow = n * Math.ceil(ow / 2);
  const byMemory = Math.floor(MAX_TRANSFORMED / (16 * tilesPerTileRow * channels));
  const byTiles = Math.floor(maxTiles / tilesPerTileRow);
  return 2 * Math.max(1, Math.min(byMemory, byTiles));
}

/**
 * The input rows a band of output rows [r0, r0 + rows) reads, its window for row y starting at
 * input row y - top: the slice and the band's own top offset.
 */
function bandInput(
  x: tf.Tensor4D,
  top: number,
  r0: number,
  rows: number,
): { rows: tf.Tensor4D; offset: number } {
  const [n, h, w, c] = x.shape;
  const start = Math.min(h, Math.max(0, r0 - top));
  const end = Math.max(start, Math.min(h, r0 + rows + 2 - top));
  const slice = start === 0 && end === h ? x : tf.slice(x, [0, start, 0, 0], [n, end - start, w, c]);
  return { rows: slice, offset: top - r0 + start };
}

/**
 * Correlation of NHWC `x` with a 3x3 HWIO `filter`, its window for output (y, x) starting at
 * (y - offset[0], x - offset[1]) with zeros outside `x`, over an `output`-sized map; an epilogue
 * (bias, ReLU) runs in the output transform's pass. Large maps run in bands of output rows, each
 * with its transformed operands under MAX_TRANSFORMED elements, concatenated.
 */
function winogradCorrelate(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  offset: [number, number],
  output: [number, number],
  filterTransform: Float32Array = FILTER_TRANSFORM,
  epilogue: ConvEpilogue = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , ci, co] = filter.shape;
    const transformed = tf.matMul(tf.tensor2d(filterTransform, [16, 9]), tf.reshape(filter, [9, ci * co]));
    const filters = tf.reshape(transformed, [16, ci, co]) as tf.Tensor3D;
    const rows = bandRows(x.shape[0], output[1], Math.max(ci, co));
    if (rows >= output[0]) return correlateBand(x, filters, offset, output, epilogue);
    const bands: tf.Tensor4D[] = [];
    for (let r0 = 0; r0 < output[0]; r0 += rows) {
      const band = Math.min(rows, output[0] - r0);
      const input = bandInput(x, offset[0], r0, band);
      bands.push(correlateBand(input.rows, filters, [input.offset, offset[1]], [band, output[1]], epilogue));
    }
    return tf.concat(bands, 1) as tf.Tensor4D;
  });
}

/** One band of `winogradCorrelate`, the filter transformed ([16, Cin, Cout]). */
function correlateBand(
  x: tf.Tensor4D,
  filters: tf.Tensor3D,
  offset: [number, number],
  output: [number, number],
  { bias = null, activation = 'linear' }: ConvEpilogue,
): tf.Tensor4D {
  return tf.tidy(() => {
    const attrs: WinogradAttrs = {
      tiles: [Math.ceil(output[0] / 2), Math.ceil(output[1] / 2)],
      offset,
      output,
      relu: activation === 'relu',
    };
    const windows = tf
      .engine()
      .runKernel(WINOGRAD_INPUT, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
    const products: tf.NamedTensorMap = { m: tf.matMul(windows, filters) };
    if (bias) products.bias = bias;
    return tf
      .engine()
      .runKernel(WINOGRAD_OUTPUT, products, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}

/**
 * Forward of a 3x3 stride-1 convolution by Winograd (`winogradApplies`); with an epilogue, the
 * bias and ReLU run in the output transform's pass (inference).
 */
export function convForwardByWinograd(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  epilogue: ConvEpilogue = {},
): tf.Tensor4D {
  if (!winogradApplies(filter.shape, geometry))
    throw new Error(
      'convForwardByWinograd: a 3x3 stride-1 undilated filter with Cin, Cout % 4 == 0, on wasm',
    );
  const [, h, w] = x.shape;
  const { padding } = geometry;
  return winogradCorrelate(
    x,
    filter,
    [padding[0], padding[2]],
    [h + padding[0] + padding[1] - 2, w + padding[2] + padding[3] - 2],
    FILTER_TRANSFORM,
    epilogue,
  );
}

/** Input gradient of a 3x3 stride-1 convolution by Winograd: dy correlated with the filter rotated by 180 degrees. */
export function convInputGradientByWinograd(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  inputShape: readonly [number, number, number, number],
): tf.Tensor4D {
  if (!winogradApplies(filter.shape, geometry))
    throw new Error(
      'convInputGradientByWinograd: a 3x3 stride-1 undilated filter with Cin, Cout % 4 == 0, on wasm',
    );
  return tf.tidy(() => {
    // The rotation is folded into the filter transform (wasm's Reverse is slow); Cin and Cout swap.
    const swapped = tf.transpose(filter, [0, 1, 3, 2]) as tf.Tensor4D;
    const { padding } = geometry;
    return winogradCorrelate(
      dy,
      swapped,
      [2 - padding[0], 2 - padding[2]],
      [inputShape[1], inputShape[2]],
      ROTATED_FILTER_TRANSFORM,
    );
  });
}

const tilesOf = (outputShape: readonly number[]) =>
  outputShape[0]! * Math.ceil(outputShape[1]! / 2) * Math.ceil(outputShape[2]! / 2);

/**
 * What every 'auto' Winograd route needs besides `winogradApplies`: at least 16 channels each side
 * and 32 tiles, on maps of at least 4x4 (a 3x3 map's four tiles compute 16 outputs for 9).
 */
function worthTransforming(outputShape: readonly number[], ci: number, co: number): boolean {
  return (
    Math.min(ci, co) >= MIN_CHANNELS &&
    tilesOf(outputShape) >= MIN_TILES &&
    outputShape[1]! >= 4 &&
    outputShape[2]! >= 4
  );
}

/**
 * Whether 'auto' takes Winograd for a forward (a filter that changes every call: training) or an
 * input gradient. Measured on wasm with core's matmul (the filter new each call, as while
 * training), best direct route against Winograd, ms: FCN-8s w1/4 at batch 4, 96x96 16 -> 16 5.5 /
 * 4.9 forward and 5.3 / 4.9 input gradient, 48x48 32 -> 32 4.3 / 2.6 and 4.6 / 2.7, 12x12 128 ->
 * 128 4.1 / 2.0 and 3.9 / 2.2, 6x6 (36 tiles) 1.1 / 0.7 and 1.0 / 0.7; VGG16 at 1x224x224 conv1_2
 * 94 / 44 and 96 / 47, conv5 (14x14, 49 tiles) 26 / 19 and 20.5 / 19.6 (39.6 / 29.1 at batch 2);
 * even or lost below: 3x3 maps (8 x 128 channels 0.7 / 0.7), 16 tiles at 512 channels (9.1 /
 * 10.2), 12x12 at 16 channels (0.1 / 0.2).
 */
export function prefersWinograd(
  outputShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  const [, , ci, co] = filterShape;
  return worthTransforming(outputShape, ci, co) && winogradApplies(filterShape, geometry);
}

/**
 * Whether 'auto' takes Winograd for a filter gradient: as `prefersWinograd`, and at least one
 * tile per 8,192 filter elements, since the transformed gradient (16 per tap) is summed,
 * transformed back and transposed per call. Measured on wasm with core's matmul, best direct
 * route against Winograd, ms: FCN-8s w1/4 at batch 4 (96x96 16 -> 16) 5.0 / 5.2, (48x48 32 -> 32)
 * 3.2 / 3.2 - 4.7 / 3.3, (12x12 128 -> 128) 3.9 / 2.6, (6x6, 36 tiles) 1.9 / 0.7; VGG16 conv1_2
 * 88 / 58, conv2_1 39 / 24, conv2_2 76 / 42, conv4_2 82 / 51, conv5 (49 tiles) 24.5 / 21.6;
 * slower at 16 tiles of 512 x 512 (7.1 / 13.6) and below 16 channels (96x96 8 -> 8: 1.5 / 2.0).
 */
export function prefersWinogradFilterGradient(
  outputShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  const [, , ci, co] = filterShape;
  return (
    worthTransforming(outputShape, ci, co) &&
    tilesOf(outputShape) * FILTER_ELEMENTS_PER_TILE >= ci * co &&
    winogradApplies(filterShape, geometry)
  );
}
