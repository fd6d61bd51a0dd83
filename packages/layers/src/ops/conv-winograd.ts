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

/** Fewer tiles than this (VGG16's 14x14 conv5 has 49) leave the 16 matmuls small against the filter transform. */
const MIN_TILES = 196;
/** Narrower convolutions (FCN-8s w1/4's 16-32 channels) ran within noise or slower by Winograd. */
const MIN_CHANNELS = 64;
/** The filter gradient's matmuls contract over the tiles: longer ones streamed from memory (VGG16's conv1_2, 12,544), so it runs in bands of at most this many, summed. */
const MAX_FILTER_GRADIENT_TILES = 4096;

/**
 * The transformed data are 4x the map they come from (16 values per 2x2 tile): larger maps run in
 * bands of output rows whose transformed operands stay under this many elements (64 MB as
 * float32; FCN's 698x698 conv1 at 500x500 would need 500 MB per operand in one piece).
 */
const MAX_TRANSFORMED = 1 << 24;

/** Whether the Winograd route can compute this filter gradient here: 3x3, stride and dilation 1, Cin % 4 == 0, wasm. */
export function winogradApplies(
  filterShape: readonly [number, number, number, number],
  { stride, dilation }: ConvGeometry,
): boolean {
  const [kh, kw, ci] = filterShape;
  return (
    kh === 3 &&
    kw === 3 &&
    ci % 4 === 0 &&
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
      'convFilterGradientByWinograd: a 3x3 stride-1 undilated filter with Cin % 4 == 0, on wasm',
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
        tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D[];
      const windows = run(WINOGRAD_INPUT, { x: input.rows }); // 16 x [P, Cin]
      const gradients = run(WINOGRAD_GRADIENT, { dy: tf.transpose(gradient, [3, 0, 1, 2]) }); // 16 x [Cout, P]
      const products = tf.concat(
        gradients.map((g, e) => tf.reshape(tf.matMul(g, windows[e]!), [1, co * ci])),
        0,
      ) as tf.Tensor2D;
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

/** Whether a forward or input gradient by Winograd applies: 3x3, stride and dilation 1, Cin and Cout multiples of 4, wasm. */
export function winogradConvApplies(
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  return filterShape[3] % 4 === 0 && winogradApplies(filterShape, geometry);
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
    // Slices, not tf.split: tfjs-wasm's own SplitV copied the whole input out of the heap per output.
    const filters = Array.from({ length: 16 }, (_, e) =>
      tf.reshape(tf.slice(transformed, [e, 0], [1, ci * co]), [ci, co]),
    ) as tf.Tensor2D[];
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

/** One band of `winogradCorrelate`, the filter transformed (16 planes [Cin, Cout]). */
function correlateBand(
  x: tf.Tensor4D,
  filters: tf.Tensor2D[],
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
      .runKernel(WINOGRAD_INPUT, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D[];
    const products: tf.NamedTensorMap = Object.fromEntries(
      windows.map((v, e) => [`m${e}`, tf.matMul(v, filters[e]!)]),
    );
    if (bias) products.bias = bias;
    return tf
      .engine()
      .runKernel(WINOGRAD_OUTPUT, products, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}

/**
 * Forward of a 3x3 stride-1 convolution by Winograd (`winogradConvApplies`); with an epilogue, the
 * bias and ReLU run in the output transform's pass (inference).
 */
export function convForwardByWinograd(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvGeometry,
  epilogue: ConvEpilogue = {},
): tf.Tensor4D {
  if (!winogradConvApplies(filter.shape, geometry))
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
  if (!winogradConvApplies(filter.shape, geometry))
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
 * Whether 'auto' takes Winograd for a forward (a filter that changes every call: training) or an
 * input gradient. Measured on wasm (the filter new each call, as while training), direct against
 * Winograd, ms: VGG16 at 1x224x224 conv1_2 127 / 91 forward, 130 / 90 input gradient; conv2_2
 * 120 / 76, 111 / 62; conv3_2 131 / 72, 126 / 75; conv4_2 151 / 89, 167 / 98; conv5 (14x14) 64 /
 * 53 forward but 38 / 56 for the input gradient (its gemm route, taken first); FCN-8s w1/4 at
 * batch 4 within 10% either way below 64 channels.
 */
export function prefersWinograd(
  outputShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  const [, , ci, co] = filterShape;
  const tiles = tilesOf(outputShape);
  return Math.min(ci, co) >= MIN_CHANNELS && tiles >= MIN_TILES && winogradConvApplies(filterShape, geometry);
}

/**
 * Whether 'auto' takes Winograd for a filter gradient. Measured on wasm, gemm against Winograd,
 * ms: VGG16 conv2_2 (112x112, 128 -> 128) 102 / 76, conv3_2 100 / 71, conv4_2 109 / 84; slower at
 * conv1_2 (224x224, 64 -> 64: 12,544 tiles, 127 / 152) and conv5 (49 tiles, 30 / 38), and below
 * 128 x 128 channels (FCN-8s w1/4 at batch 4: 0.5-0.9x).
 */
export function prefersWinogradFilterGradient(
  outputShape: readonly number[],
  filterShape: readonly [number, number, number, number],
  geometry: ConvGeometry,
): boolean {
  const [, , ci, co] = filterShape;
  const tiles = tilesOf(outputShape);
  return (
    Math.min(ci, co) >= MIN_CHANNELS &&
    ci * co >= 128 * 128 &&
    tiles >= MIN_TILES &&
    winogradApplies(filterShape, geometry)
  );
}
