import * as tf from '@tensorflow/tfjs-core';
import { inPlaceMatMul } from './wasm-matmul.js';
import { tiledTranspose } from './wasm-transpose.js';
import { registerConvWindows, unregisterConvWindows } from './wasm-windows.js';
import { registerWinogradTransforms, unregisterWinogradTransforms } from './wasm-winograd.js';

// tfjs-backend-wasm 4.22's Slice kernel runs in JavaScript and starts with `readSync(x)`, which
// copies the whole input tensor out of the wasm heap into a new ArrayBuffer, on every call, to
// take a part of it. Our convolutions take dozens of slices per step (im2col's taps, col2im,
// crops), so a training step copied its activations many times over: memory traffic, and
// external memory that made V8 collect several times a step (FCN-8s at width 1/4: 3 collections a
// step; 20,000 slices of a 590 KB tensor: 806 collections against 4 for as many relus). In replica
// threads the collections and the copies are also what scales worst over cores. This kernel reads
// the input where it lies in the heap; it copies the same elements in the same order. Identity,
// Sum and Mean are below, Transpose in wasm-transpose.ts.

/** What our kernels use of tfjs-backend-wasm's backend: outputs, and views of the heap. */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** Frees a buffer made by `makeOutput` that no tensor holds (a kernel's scratch). */
  disposeData(dataId: tf.DataId): boolean;
  typedArrayFromHeap(tensor: tf.TensorInfo): tf.TypedArray;
}

interface SliceAttrs {
  begin: number | number[];
  size?: number | number[];
}

const PATCHED = Symbol.for('semseg.wasm-kernel');

/** Our kernels remember the ones they replaced (for `restoreWasmKernels`: benches and tests). */
type PatchedKernel = tf.KernelFunc & { [PATCHED]?: tf.KernelFunc };

/**
 * Elements [begin, begin + size) of a row-major tensor of `shape` copied from `x` into `out`, two
 * views of the one wasm heap: each contiguous run is a copyWithin in the heap (a memmove; a
 * subarray per run cost more than the copy of a 224-element row).
 */
function copyBox(
  x: tf.TypedArray,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: tf.TypedArray,
): void {
  if (x.buffer !== out.buffer) throw new Error('wasm Slice: the input and the output are in different heaps');
  const Heap = x.constructor as new (buffer: ArrayBufferLike) => tf.TypedArray;
  const heap = new Heap(x.buffer);
  const source = x.byteOffset / x.BYTES_PER_ELEMENT;
  const target = out.byteOffset / out.BYTES_PER_ELEMENT;
  const rank = shape.length;
  const strides = tf.util.computeStrides([...shape]);
  // The innermost axes the box spans whole are one contiguous run per outer index.
  let inner = rank;
  let run = 1;
  while (inner > 0 && begin[inner - 1] === 0 && size[inner - 1] === shape[inner - 1]) {
    inner--;
    run *= shape[inner]!;
  }
  if (inner === 0) {
    heap.copyWithin(target, source, source + run);
    return;
  }
  // The last partly taken axis extends the run.
  inner--;
  run *= size[inner]!;
  const outer = size.slice(0, inner);
  const count = outer.reduce((a, b) => a * b, 1);
  const index = new Array<number>(inner).fill(0);
  let from = source;
  for (let axis = 0; axis <= inner; axis++) from += begin[axis]! * (axis < rank - 1 ? strides[axis]! : 1);
  let to = target;
  for (let k = 0; k < count; k++) {
    let offset = from;
    for (let axis = 0; axis < inner; axis++) offset += index[axis]! * strides[axis]!;
    if (run < 8) for (let i = 0; i < run; i++) heap[to + i] = heap[offset + i]!;
    else heap.copyWithin(to, offset, offset + run);
    to += run;
    for (let axis = inner - 1; axis >= 0; axis--) {
      if (++index[axis]! < outer[axis]!) break;
      index[axis] = 0;
    }
  }
}

/** tfjs-backend-wasm 4.22's Slice without the whole-tensor copy (the same elements, in the same order). */
function zeroCopySlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    const backend = args.backend as unknown as HeapBackend;
    const { begin, size } = attrs as unknown as SliceAttrs;
    const [from, extent] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    // The output first: allocating it may grow the heap, which detaches earlier views of it.
    const out = backend.makeOutput(extent, x.dtype);
    if (tf.util.sizeFromShape(extent) === 0) return out;
    copyBox(backend.typedArrayFromHeap(x), x.shape, from, extent, backend.typedArrayFromHeap(out));
    return out;
  };
}

// tfjs-backend-wasm 4.22's SplitV calls its own Slice once per output, each a `readSync` of the
// whole input (a [16, 262144] split into 16: 227 ms). tfjs's concat gradient is a SplitV, so every
// skip connection (U-Net's, FC-DenseNet's) paid it per step. Here each output is the in-heap
// slice above: the same elements.
function sliceSplit(original: tf.KernelFunc): tf.KernelFunc {
  const slice = zeroCopySlice(original);
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const along = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, along);
    const begin = x.shape.map(() => 0);
    return sizes.map((extent) => {
      const size = [...x.shape];
      size[along] = extent;
      const out = slice({ ...args, attrs: { begin: [...begin], size } }) as tf.TensorInfo;
      begin[along]! += extent;
      return out;
    });
  };
}

// tfjs-backend-wasm 4.22's Identity copies its input into a new buffer, and the engine runs
// Identity for every tensor it saves for the backward pass (`saveTensorsForBackwardMode`): a
// DeconvNet step at batch 4 made 568 such copies (30 ms of kernels, and as much memory again
// held until the gradients are done). Tensors are immutable, so the cpu backend's Identity
// shares the input's buffer and counts a reference; this is the same on wasm (its Reshape
// already shares that way).
function sharedIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

interface ReductionAttrs {
  axis: number | number[];
  keepDims: boolean;
}

// tfjs-backend-wasm 4.22's Sum and Mean reduce innermost axes only: any other reduction first
// transposes the whole input so that the reduced axes come last. A convolution's bias gradient
// and batch norm's moments reduce the leading axes of an NHWC tensor (N, H and W), so each of
// them copied the tensor once more: 25 ms of a 12.8 MB Sum at VGG16's conv1 against 8 for the
// column sums below. These add the rows in the order the transposed kernel adds them, each sum
// rounded to float32 at every step as its float32 accumulator is: the same bits (tested against
// tfjs's kernels), without the copy.
const round = Math.fround;

/**
 * sums[c] = x[0][c] + x[1][c] + ... in row order, rounded to float32 after every addition: four
 * rows per pass over the columns (one load and store of each sum per four additions).
 */
function columnSums(values: Float32Array, rows: number, columns: number, sums: Float32Array): void {
  sums.fill(0);
  let row = 0;
  for (; row + 4 <= rows; row += 4) {
    const a = row * columns;
    const b = a + columns;
    const c = b + columns;
    const d = c + columns;
    for (let j = 0; j < columns; j++) {
      let sum = round(sums[j]! + values[a + j]!);
      sum = round(sum + values[b + j]!);
      sum = round(sum + values[c + j]!);
      sums[j] = sum + values[d + j]!;
    }
  }
  for (; row < rows; row++) {
    const a = row * columns;
    for (let j = 0; j < columns; j++) sums[j] = sums[j]! + values[a + j]!;
  }
}

function leadingAxesReduction(original: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as ReductionAttrs;
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2) return original(args);
    const axes = tf.util.parseAxisParam(axis, x.shape);
    // Leading axes only, in order (tfjs's kernel adds in the order the axes are given), and not
    // all of them (an innermost reduction needs no transpose).
    if (axes.length === 0 || axes.length === rank || axes.some((a, i) => a !== i)) return original(args);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const columns = tf.util.sizeFromShape(x.shape.slice(axes.length));
    if (rows === 0 || columns === 0) return original(args);
    const backend = args.backend as unknown as HeapBackend;
    const shape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    // The output first: allocating it may grow the heap, which detaches earlier views of it.
    const out = backend.makeOutput(shape, 'float32');
    const values = backend.typedArrayFromHeap(x) as Float32Array;
    const sums = backend.typedArrayFromHeap(out) as Float32Array;
    columnSums(values, rows, columns, sums);
    if (mean) for (let c = 0; c < columns; c++) sums[c] = sums[c]! / rows;
    return out;
  };
}

const PATCHES: ReadonlyArray<{ kernelName: string; make(original: tf.KernelFunc): tf.KernelFunc }> = [
  { kernelName: tf.Slice, make: zeroCopySlice },
  { kernelName: tf.SplitV, make: sliceSplit },
  { kernelName: tf.Identity, make: sharedIdentity },
  { kernelName: tf.Sum, make: (original) => leadingAxesReduction(original, false) },
  { kernelName: tf.Mean, make: (original) => leadingAxesReduction(original, true) },
  { kernelName: tf.Transpose, make: tiledTranspose },
  { kernelName: tf.BatchMatMul, make: inPlaceMatMul },
];

/**
 * Replaces the wasm backend's Slice, SplitV, Identity, Sum and Mean kernels with ones that do
 * not copy, its Transpose with a tiled SIMD one and its BatchMatMul with one that reads B where it
 * lies (wasm-matmul.ts; the same values, bit for bit), and registers the
 * convolution windows kernel (wasm-windows.ts) and the Winograd transforms (wasm-winograd.ts).
 * Idempotent; `selectBackend` calls it when it activates wasm.
 * Strings keep tfjs's kernels.
 */
export function patchWasmKernels(): void {
  registerConvWindows();
  registerWinogradTransforms();
  for (const { kernelName, make } of PATCHES) {
    const registered = tf.getKernel(kernelName, 'wasm');
    if (!registered || (registered.kernelFunc as PatchedKernel)[PATCHED]) continue;
    const original = registered.kernelFunc;
    const patched: PatchedKernel = make(original);
    patched[PATCHED] = original;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...registered, kernelFunc: patched });
  }
}

/** Puts tfjs's own wasm kernels back (the baseline of a bench); `patchWasmKernels` undoes it. */
export function restoreWasmKernels(): void {
  unregisterConvWindows();
  unregisterWinogradTransforms();
  for (const { kernelName } of PATCHES) {
    const registered = tf.getKernel(kernelName, 'wasm');
    const original = registered && (registered.kernelFunc as PatchedKernel)[PATCHED];
    if (!original) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...registered, kernelFunc: original });
  }
}
