import * as tf from '@tensorflow/tfjs-core';

// tfjs-backend-wasm 4.22's Slice kernel runs in JavaScript and starts with `readSync(x)`, which
// copies the whole input tensor out of the wasm heap into a new ArrayBuffer, on every call, to
// take a part of it. Our convolutions take dozens of slices per step (im2col's taps, col2im,
// crops), so a training step copied its activations many times over: memory traffic, and
// external memory that made V8 collect several times a step (FCN-8s at width 1/4: 3 collections a
// step; 20,000 slices of a 590 KB tensor: 806 collections against 4 for as many relus). In replica
// threads the collections and the copies are also what scales worst over cores. This kernel reads
// the input where it lies in the heap; it copies the same elements in the same order.

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(tensor: tf.TensorInfo): tf.TypedArray;
}

interface SliceAttrs {
  begin: number | number[];
  size?: number | number[];
}

const PATCHED = Symbol.for('semseg.wasm-slice');

/** Our kernel remembers the one it replaced (for `restoreWasmKernels`: benches and tests). */
type SliceKernel = tf.KernelFunc & { [PATCHED]?: tf.KernelFunc };

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

/**
 * Replaces the wasm backend's Slice kernel with one that does not copy its input first (the same
 * values). Idempotent; `selectBackend` calls it when it activates wasm. Strings keep tfjs's kernel.
 */
export function patchWasmKernels(): void {
  const registered = tf.getKernel(tf.Slice, 'wasm');
  if (!registered || (registered.kernelFunc as SliceKernel)[PATCHED]) return;
  const original = registered.kernelFunc;
  const slice: SliceKernel = (args) => {
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
  slice[PATCHED] = original;
  tf.unregisterKernel(tf.Slice, 'wasm');
  tf.registerKernel({ ...registered, kernelFunc: slice });
}

/** Puts tfjs's own wasm Slice back (the baseline of a bench); `patchWasmKernels` undoes it. */
export function restoreWasmKernels(): void {
  const registered = tf.getKernel(tf.Slice, 'wasm');
  const original = registered && (registered.kernelFunc as SliceKernel)[PATCHED];
  if (!original) return;
  tf.unregisterKernel(tf.Slice, 'wasm');
  tf.registerKernel({ ...registered, kernelFunc: original });
}
