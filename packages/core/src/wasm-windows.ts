import {
  type Code,
  FunctionBuilder,
  type Local,
  control,
  forRange,
  i32,
  local,
  memory,
} from '@semseg/crf/wasm-writer';
import * as tf from '@tensorflow/tfjs-core';
import { type ModuleBackend, heapKernel, heapOf } from './wasm-heap-kernel.js';

// The windows of a stride-1 convolution, transposed: the matrix the gemm routes multiply (the
// filter gradient as windows^T . dy, the forward as W^T . windows^T). Built from tfjs ops it was
// a pad, nine slices (one per tap) and a concat: four copies of data nine times the input's size,
// and 11 kernels per convolution (FCN-8s w1/4, batch 4: 50 ms of a 413-ms forward and backward on
// wasm). This kernel writes each row of the result once, straight from the channels-first input,
// with zeros where a window reaches into the padding: the same bits as the ops it replaces.

/** The kernel's name in tfjs's registry (registered for wasm by `patchWasmKernels`). */
export const CONV_WINDOWS = 'SemsegConvWindows';

/**
 * Attributes of CONV_WINDOWS. Its input `x` is channels-first [C, N, H, W]; its output is
 * [kh * kw * C, N * OH * OW]: row (tap i * kw + j, channel c), column (image b, y, x), holding
 * x[c, b, y + i * dh - top, x + j * dw - left], or 0 outside the input.
 */
export interface ConvWindowsAttrs {
  kernel: [number, number];
  dilation: [number, number];
  /** Padding before the first row and column (negative: a crop). */
  offset: [number, number];
  output: [number, number];
}

/** windows(src, dst, c, n, h, w, oh, ow, kh, kw, dh, dw, top, left): byte addresses, float32. */
function buildKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('windows');
  const [src, dst, c, n, h, w, oh, ow, kh, kw, dh, dw, top, left] = Array.from({ length: 14 }, () =>
    fn.param('i32'),
  );
  const [i, j, ch, b, y, y0, y1, x0, x1, sy, sx, at, from, rowBytes] = Array.from({ length: 14 }, () =>
    fn.local('i32'),
  );
  const get = (l: Local): Code => local.get(l);
  const max = (p: Code, q: Code): Code => control.select(p, q, i32.gtS(p, q));
  const min = (p: Code, q: Code): Code => control.select(p, q, i32.ltS(p, q));
  const bytes = (elements: Code): Code => i32.shl(elements, i32.const(2));
  const zeros = (address: Code, elements: Code): Code => memory.fill(address, i32.const(0), bytes(elements));
  // One output row (image b, map row y): zeros left of x0, the input row's run, zeros from x1.
  const row: Code[] = [
    local.set(sy, i32.sub(i32.add(get(y), i32.mul(get(i), get(dh))), get(top))),
    // src + (((ch * n + b) * h + sy) * w + sx + x0) * 4
    local.set(
      from,
      i32.add(
        get(src),
        bytes(
          i32.add(
            i32.mul(i32.add(i32.mul(i32.add(i32.mul(get(ch), get(n)), get(b)), get(h)), get(sy)), get(w)),
            i32.add(get(sx), get(x0)),
          ),
        ),
      ),
    ),
    zeros(get(at), get(x0)),
    memory.copy(i32.add(get(at), bytes(get(x0))), get(from), bytes(i32.sub(get(x1), get(x0)))),
    zeros(i32.add(get(at), bytes(get(x1))), i32.sub(get(ow), get(x1))),
    local.set(at, i32.add(get(at), get(rowBytes))),
  ];
  fn.body = [
    ...local.set(at, get(dst)),
    ...local.set(rowBytes, bytes(get(ow))),
    ...forRange(
      i,
      i32.const(0),
      get(kh),
      1,
      // Map rows whose input row exists for this tap: [y0, y1).
      local.set(y0, min(get(oh), max(i32.const(0), i32.sub(get(top), i32.mul(get(i), get(dh)))))),
      local.set(y1, max(get(y0), min(get(oh), i32.sub(i32.add(get(h), get(top)), i32.mul(get(i), get(dh)))))),
      forRange(
        j,
        i32.const(0),
        get(kw),
        1,
        // Columns likewise: [x0, x1), and the input column of output column 0.
        local.set(sx, i32.sub(i32.mul(get(j), get(dw)), get(left))),
        local.set(x0, min(get(ow), max(i32.const(0), i32.sub(i32.const(0), get(sx))))),
        local.set(x1, max(get(x0), min(get(ow), i32.sub(get(w), get(sx))))),
        forRange(
          ch,
          i32.const(0),
          get(c),
          1,
          forRange(
            b,
            i32.const(0),
            get(n),
            1,
            zeros(get(at), i32.mul(get(y0), get(ow))),
            local.set(at, i32.add(get(at), i32.mul(get(y0), get(rowBytes)))),
            // A tap that only reads padding has an empty column range: its rows stay zero.
            control.ifElse(
              i32.ltS(get(x0), get(x1)),
              [forRange(y, get(y0), get(y1), 1, ...row)],
              [
                zeros(get(at), i32.mul(i32.sub(get(y1), get(y0)), get(ow))),
                local.set(at, i32.add(get(at), i32.mul(i32.sub(get(y1), get(y0)), get(rowBytes)))),
              ],
            ),
            zeros(get(at), i32.mul(i32.sub(get(oh), get(y1)), get(ow))),
            local.set(at, i32.add(get(at), i32.mul(i32.sub(get(oh), get(y1)), get(rowBytes)))),
          ),
        ),
      ),
    ),
  ];
  return fn;
}

type WindowsKernel = (...args: number[]) => void;

const kernelFor = heapKernel<WindowsKernel>(buildKernel, 'windows');

/**
 * Whether CONV_WINDOWS runs on the active backend: wasm, once `patchWasmKernels` registered it,
 * with a heap the kernel instantiates over (a shared heap gets its own module).
 */
export function hasConvWindows(): boolean {
  if (tf.getKernel(CONV_WINDOWS, tf.getBackend()) === undefined) return false;
  const heap = heapOf(tf.backend());
  return heap !== null && kernelFor(heap) !== null;
}

function convWindows(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { kernel: size, dilation, offset, output } = args.attrs as unknown as ConvWindowsAttrs;
  const backend = args.backend as ModuleBackend;
  const heap = heapOf(backend);
  const run = heap ? kernelFor(heap) : null;
  if (x.dtype !== 'float32' || x.shape.length !== 4)
    throw new Error(`${CONV_WINDOWS}: a float32 [C, N, H, W] input, got ${x.dtype} [${x.shape}]`);
  if (!run)
    throw new Error(`${CONV_WINDOWS}: this runtime cannot run the kernel (no WebAssembly bulk memory)`);
  const [channels, images, height, width] = x.shape as [number, number, number, number];
  // The output first: allocating it may grow the heap, which detaches earlier views of it.
  const out = backend.makeOutput([size[0] * size[1] * channels, images * output[0] * output[1]], 'float32');
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  const source = backend.typedArrayFromHeap(x).byteOffset;
  const target = backend.typedArrayFromHeap(out).byteOffset;
  run(
    source,
    target,
    channels,
    images,
    height,
    width,
    output[0],
    output[1],
    size[0],
    size[1],
    dilation[0],
    dilation[1],
    offset[0],
    offset[1],
  );
  return out;
}

/** Registers CONV_WINDOWS for wasm where the runtime can run it (idempotent). */
export function registerConvWindows(): void {
  if (tf.getKernel(CONV_WINDOWS, 'wasm')) return;
  const probe = new WebAssembly.Memory({ initial: 1 });
  if (!kernelFor(probe)) return;
  tf.registerKernel({
    kernelName: CONV_WINDOWS,
    backendName: 'wasm',
    kernelFunc: convWindows as tf.KernelFunc,
  });
}

/** Removes CONV_WINDOWS (the baseline of a bench: the ops it replaces run instead). */
export function unregisterConvWindows(): void {
  if (tf.getKernel(CONV_WINDOWS, 'wasm')) tf.unregisterKernel(CONV_WINDOWS, 'wasm');
}
