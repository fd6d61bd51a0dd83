import {
  type Code,
  FunctionBuilder,
  type Local,
  control,
  f32,
  f32x4,
  forRange,
  i32,
  local,
  v128,
} from '@semseg/crf/wasm-writer';
import * as tf from '@tensorflow/tfjs-core';
import { type ModuleBackend, heapKernel, heapOf } from './wasm-heap-kernel.js';

// The data transforms of 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) (Lavin and Gray
// 2016), the minimal filtering the 2x2 output tiles allow. With d a tile's 4x4 input window, g the
// filter and dY the tile's 2x2 output gradient:
//   forward          Y  = A^T [ (G g G^T) (.) (B^T d B) ] A
//   filter gradient  dW = G^T [ sum over tiles (A dY A^T) (.) (B^T d B) ] G
// Per transformed position (16 of them) the sums over channels or tiles are one matmul each,
// 16 * Cin * Cout * P multiply-adds for P = N * OH * OW / 4 tiles against the direct product's
// 9 * Cin * Cout * N * OH * OW (2.25x fewer). The kernels below write the matmuls' operands
// (B^T d B, A dY A^T) and read their results back to NHWC (A^T M A); @semseg/layers multiplies.
// The 16 planes are one tensor [16, rows, columns], so that the 16 products are one batched
// matmul: a call (and its slices and reshapes) per plane cost ~1 ms of dispatch per layer and step.

/** Input transform: NHWC x -> [16, P, C], one plane per transformed position (B^T d B per tile, 4 channels per instruction). */
export const WINOGRAD_INPUT = 'SemsegWinogradInput';
/** Output-gradient transform: NHWC dy [N, OH, OW, K] -> [16, P, K] (A dY A^T per tile, 4 channels per instruction). */
export const WINOGRAD_GRADIENT = 'SemsegWinogradGradient';
/**
 * Output transform of a convolution by F(2x2, 3x3): the products m [16, P, C] -> NHWC
 * [N, OH, OW, C] (A^T M A), with an optional per-channel `bias` input and ReLU in the same pass.
 */
export const WINOGRAD_OUTPUT = 'SemsegWinogradOutput';

/**
 * Attributes of the kernels: the tile grid (ceil(OH / 2) x ceil(OW / 2)) and, for the input
 * transform, the padding before the first row and column; for the output transform, the map
 * [OH, OW] it writes (a tile's pixels past it are dropped). Tile (b, ty, tx) is column
 * p = (b * tilesH + ty) * tilesW + tx; its input window starts at (2 ty - top, 2 tx - left),
 * zeros outside the input; output-gradient pixels past OH, OW read as zeros.
 */
export interface WinogradAttrs {
  tiles: [number, number];
  offset: [number, number];
  output?: [number, number];
  /** Output transform only: max(0, .) after the optional `bias` input is added (inference). */
  relu?: boolean;
}

const flat = (codes: Code[]): Code => codes.flat();

/** B^T for F(2, 3), applied to four values along one axis. */
const inputTransform = (
  d: readonly Code[],
  add: (a: Code, b: Code) => Code,
  sub: (a: Code, b: Code) => Code,
) => [sub(d[0]!, d[2]!), add(d[1]!, d[2]!), sub(d[2]!, d[1]!), sub(d[1]!, d[3]!)];

/** winogradInput(src, dst0 .. dst15, n, h, w, c, tilesH, tilesW, top, left); c a multiple of 4. */
function buildInputKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('winograd_input');
  const src = fn.param('i32');
  const dst = Array.from({ length: 16 }, () => fn.param('i32'));
  const [n, h, w, c, th, tw, top, left] = Array.from({ length: 8 }, () => fn.param('i32'));
  const [b, ty, tx, cc, r0, s0, at, out, inside] = Array.from({ length: 9 }, () => fn.local('i32'));
  const rowOk = Array.from({ length: 4 }, () => fn.local('i32'));
  const colOk = Array.from({ length: 4 }, () => fn.local('i32'));
  const d = Array.from({ length: 16 }, () => fn.local('v128'));
  const t = Array.from({ length: 16 }, () => fn.local('v128'));
  const get = (l: Local): Code => local.get(l);
  const bytes = (elements: Code): Code => i32.shl(elements, i32.const(2));
  const inRange = (v: Code, limit: Code): Code => i32.ltU(v, limit); // 0 <= v < limit
  // Address of pixel (r0 + i, s0 + j), channel cc: at + (i * w + j) * c * 4 with at the window's corner.
  const pixel = (i: number, j: number): Code =>
    i32.add(
      get(at),
      bytes(i32.add(i32.mul(i32.add(i32.mul(i32.const(i), get(w)), i32.const(j)), get(c)), get(cc))),
    );
  const zero = f32x4.splat(f32.const(0));
  const loads: Code[] = [];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++)
      loads.push(
        control.ifElse(
          get(inside),
          [local.set(d[i * 4 + j]!, v128.load(pixel(i, j)))],
          [
            local.set(d[i * 4 + j]!, zero),
            control.if(
              i32.and(get(rowOk[i]!), get(colOk[j]!)),
              local.set(d[i * 4 + j]!, v128.load(pixel(i, j))),
            ),
          ],
        ),
      );
  const transform: Code[] = [];
  for (let i = 0; i < 4; i++) {
    const row = inputTransform(
      [0, 1, 2, 3].map((j) => get(d[i * 4 + j]!)),
      f32x4.add,
      f32x4.sub,
    );
    row.forEach((value, nu) => transform.push(local.set(t[i * 4 + nu]!, value)));
  }
  const stores: Code[] = [];
  for (let nu = 0; nu < 4; nu++) {
    const column = inputTransform(
      [0, 1, 2, 3].map((i) => get(t[i * 4 + nu]!)),
      f32x4.add,
      f32x4.sub,
    );
    column.forEach((value, xi) => stores.push(v128.store(i32.add(get(dst[xi * 4 + nu]!), get(out)), value)));
  }
  const tile: Code[] = [
    local.set(s0, i32.sub(i32.shl(get(tx), i32.const(1)), get(left))),
    ...[0, 1, 2, 3].map((j) => local.set(colOk[j]!, inRange(i32.add(get(s0), i32.const(j)), get(w)))),
    local.set(
      inside,
      i32.and(i32.and(get(rowOk[0]!), get(rowOk[3]!)), i32.and(get(colOk[0]!), get(colOk[3]!))),
    ),
    // The window's corner (possibly outside the input: only in-range pixels are read).
    local.set(
      at,
      i32.add(
        get(src),
        bytes(i32.mul(i32.add(i32.mul(i32.add(i32.mul(get(b), get(h)), get(r0)), get(w)), get(s0)), get(c))),
      ),
    ),
    // Plane offsets run in order: (p * C + cc) * 4 bytes.
    forRange(
      cc,
      i32.const(0),
      get(c),
      4,
      ...loads,
      ...transform,
      ...stores,
      local.set(out, i32.add(get(out), i32.const(16))),
    ),
  ];
  fn.body = flat([
    local.set(out, i32.const(0)),
    forRange(
      b,
      i32.const(0),
      get(n),
      1,
      forRange(
        ty,
        i32.const(0),
        get(th),
        1,
        local.set(r0, i32.sub(i32.shl(get(ty), i32.const(1)), get(top))),
        ...[0, 1, 2, 3].map((i) => local.set(rowOk[i]!, inRange(i32.add(get(r0), i32.const(i)), get(h)))),
        forRange(tx, i32.const(0), get(tw), 1, ...tile),
      ),
    ),
  ]);
  return fn;
}

/** winogradGradient(src, dst0 .. dst15, n, oh, ow, k, tilesH, tilesW): NHWC dy, k a multiple of 4. */
function buildGradientKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('winograd_gradient');
  const src = fn.param('i32');
  const dst = Array.from({ length: 16 }, () => fn.param('i32'));
  const [n, oh, ow, k, th, tw] = Array.from({ length: 6 }, () => fn.param('i32'));
  const [b, ty, tx, cc, y0, x0, at, out, ok1, okRight, rowBytes, pixelBytes] = Array.from(
    { length: 12 },
    () => fn.local('i32'),
  );
  const d = Array.from({ length: 4 }, () => fn.local('v128'));
  const u = Array.from({ length: 8 }, () => fn.local('v128'));
  const get = (l: Local): Code => local.get(l);
  const bytes = (elements: Code): Code => i32.shl(elements, i32.const(2));
  const zero = f32x4.splat(f32.const(0));
  // A (4x2) on each axis: (v0, v0 + v1, v0 - v1, -v1).
  const along = (v0: Code, v1: Code): Code[] => [v0, f32x4.add(v0, v1), f32x4.sub(v0, v1), f32x4.neg(v1)];
  // The tile's 2x2 pixels at channels cc..cc+3; a pixel past an odd map reads as zeros.
  const address = (row: number, col: number): Code =>
    i32.add(
      i32.add(get(at), bytes(get(cc))),
      i32.add(i32.mul(i32.const(row), get(rowBytes)), i32.mul(i32.const(col), get(pixelBytes))),
    );
  const body: Code[] = [
    local.set(d[0]!, v128.load(address(0, 0))),
    local.set(d[1]!, zero),
    control.if(get(okRight), local.set(d[1]!, v128.load(address(0, 1)))),
    local.set(d[2]!, zero),
    control.if(get(ok1), local.set(d[2]!, v128.load(address(1, 0)))),
    local.set(d[3]!, zero),
    control.if(i32.and(get(ok1), get(okRight)), local.set(d[3]!, v128.load(address(1, 1)))),
  ];
  for (let a = 0; a < 2; a++)
    along(get(d[a * 2]!), get(d[a * 2 + 1]!)).forEach((value, nu) =>
      body.push(local.set(u[a * 4 + nu]!, value)),
    );
  for (let nu = 0; nu < 4; nu++)
    along(get(u[nu]!), get(u[4 + nu]!)).forEach((value, xi) =>
      body.push(v128.store(i32.add(get(dst[xi * 4 + nu]!), get(out)), value)),
    );
  body.push(local.set(out, i32.add(get(out), i32.const(16))));
  fn.body = flat([
    // Plane offsets run in order: (p * K + cc) * 4 bytes.
    local.set(out, i32.const(0)),
    local.set(pixelBytes, bytes(get(k))),
    local.set(rowBytes, i32.mul(get(ow), get(pixelBytes))),
    forRange(
      b,
      i32.const(0),
      get(n),
      1,
      forRange(
        ty,
        i32.const(0),
        get(th),
        1,
        local.set(y0, i32.shl(get(ty), i32.const(1))),
        local.set(ok1, i32.ltS(i32.add(get(y0), i32.const(1)), get(oh))),
        forRange(
          tx,
          i32.const(0),
          get(tw),
          1,
          local.set(x0, i32.shl(get(tx), i32.const(1))),
          local.set(okRight, i32.ltS(i32.add(get(x0), i32.const(1)), get(ow))),
          // src + ((b * oh + y0) * ow + x0) * k * 4: the tile's top-left pixel, channel 0.
          local.set(
            at,
            i32.add(
              get(src),
              i32.mul(
                i32.add(i32.mul(i32.add(i32.mul(get(b), get(oh)), get(y0)), get(ow)), get(x0)),
                get(pixelBytes),
              ),
            ),
          ),
          forRange(cc, i32.const(0), get(k), 4, ...body),
        ),
      ),
    ),
  ]);
  return fn;
}

/** winogradOutput(src0 .. src15, dst, n, oh, ow, c, tilesH, tilesW, bias (0: none), relu); c a multiple of 4. */
function buildOutputKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('winograd_output');
  const src = Array.from({ length: 16 }, () => fn.param('i32'));
  const [dst, n, oh, ow, c, th, tw, bias, relu] = Array.from({ length: 9 }, () => fn.param('i32'));
  const [b, ty, tx, cc, y0, x0, at, offs, ok1, okRight, rowBytes] = Array.from({ length: 11 }, () =>
    fn.local('i32'),
  );
  const r = Array.from({ length: 8 }, () => fn.local('v128'));
  const [biasValues, value] = [fn.local('v128'), fn.local('v128')];
  const get = (l: Local): Code => local.get(l);
  const bytes = (elements: Code): Code => i32.shl(elements, i32.const(2));
  const m = (xi: number, nu: number): Code => v128.load(i32.add(get(src[xi * 4 + nu]!), get(offs)));
  // A^T (2x4) on each axis: (v0 + v1 + v2, v1 - v2 - v3).
  const along = (v: readonly Code[]): [Code, Code] => [
    f32x4.add(f32x4.add(v[0]!, v[1]!), v[2]!),
    f32x4.sub(f32x4.sub(v[1]!, v[2]!), v[3]!),
  ];
  const body: Code[] = [
    control.if(get(bias), local.set(biasValues, v128.load(i32.add(get(bias), bytes(get(cc)))))),
  ];
  // The epilogue of inference: + bias (when its address is not 0), then max(0, .) when relu is set.
  const finish = (result: Code, ok: Code, address: Code): Code[] => [
    local.set(value, result),
    control.if(get(bias), local.set(value, f32x4.add(get(value), get(biasValues)))),
    control.if(get(relu), local.set(value, f32x4.max(get(value), f32x4.splat(f32.const(0))))),
    control.if(ok, v128.store(address, get(value))),
  ];
  for (let xi = 0; xi < 4; xi++) {
    const [first, second] = along([0, 1, 2, 3].map((nu) => m(xi, nu)));
    body.push(local.set(r[xi * 2]!, first), local.set(r[xi * 2 + 1]!, second));
  }
  const pixel = (a: number, col: number): Code =>
    i32.add(get(at), i32.add(i32.mul(i32.const(a), get(rowBytes)), bytes(i32.mul(i32.const(col), get(c)))));
  for (let col = 0; col < 2; col++) {
    const [top, bottom] = along([0, 1, 2, 3].map((xi) => get(r[xi * 2 + col]!)));
    const colOk = col === 0 ? i32.const(1) : get(okRight);
    body.push(
      ...finish(top, colOk, pixel(0, col)),
      ...finish(bottom, i32.and(get(ok1), colOk), pixel(1, col)),
    );
  }
  body.push(
    local.set(offs, i32.add(get(offs), i32.const(16))),
    local.set(at, i32.add(get(at), i32.const(16))),
  );
  fn.body = flat([
    local.set(offs, i32.const(0)),
    local.set(rowBytes, bytes(i32.mul(get(ow), get(c)))),
    forRange(
      b,
      i32.const(0),
      get(n),
      1,
      forRange(
        ty,
        i32.const(0),
        get(th),
        1,
        local.set(y0, i32.shl(get(ty), i32.const(1))),
        local.set(ok1, i32.ltS(i32.add(get(y0), i32.const(1)), get(oh))),
        forRange(
          tx,
          i32.const(0),
          get(tw),
          1,
          local.set(x0, i32.shl(get(tx), i32.const(1))),
          local.set(okRight, i32.ltS(i32.add(get(x0), i32.const(1)), get(ow))),
          // dst + ((b * oh + y0) * ow + x0) * c * 4: the tile's top-left pixel, channel 0.
          local.set(
            at,
            i32.add(
              get(dst),
              bytes(
                i32.mul(
                  i32.add(i32.mul(i32.add(i32.mul(get(b), get(oh)), get(y0)), get(ow)), get(x0)),
                  get(c),
                ),
              ),
            ),
          ),
          forRange(cc, i32.const(0), get(c), 4, ...body),
        ),
      ),
    ),
  ]);
  return fn;
}

type Kernel = (...args: number[]) => void;

const inputKernelFor = heapKernel<Kernel>(buildInputKernel, 'winograd_input');
const gradientKernelFor = heapKernel<Kernel>(buildGradientKernel, 'winograd_gradient');
const outputKernelFor = heapKernel<Kernel>(buildOutputKernel, 'winograd_output');

const NAMES = [WINOGRAD_INPUT, WINOGRAD_GRADIENT, WINOGRAD_OUTPUT];
const KERNELS = [inputKernelFor, gradientKernelFor, outputKernelFor];

/** Whether the three transforms run on the active backend (wasm, registered, a heap they instantiate over). */
export function hasWinogradTransforms(): boolean {
  const backend = tf.getBackend();
  if (NAMES.some((name) => tf.getKernel(name, backend) === undefined)) return false;
  const heap = heapOf(tf.backend());
  return heap !== null && KERNELS.every((kernelFor) => kernelFor(heap) !== null);
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** The byte addresses of the 16 planes of a [16, rows, columns] tensor at byte `base`. */
const planeAddresses = (base: number, planeElements: number): number[] =>
  Array.from({ length: 16 }, (_, e) => base + e * planeElements * 4);

/**
 * The 16 planes [rows, columns] as one float32 output, allocated before any heap address is taken
 * (allocation may grow the heap, which detaches earlier views), and their addresses.
 */
function planes(backend: ModuleBackend, shape: [number, number]): { out: tf.TensorInfo; at: number[] } {
  const out = backend.makeOutput([16, ...shape], 'float32');
  return { out, at: planeAddresses(backend.typedArrayFromHeap(out).byteOffset, shape[0] * shape[1]) };
}

/** The kernel instantiated over the backend's heap, or an error naming the kernel. */
function kernelOn(
  backend: ModuleBackend,
  kernelFor: (memory: WebAssembly.Memory) => Kernel | null,
  name: string,
): Kernel {
  const heap = heapOf(backend);
  const run = heap ? kernelFor(heap) : null;
  if (!run) throw new Error(`${name}: this runtime cannot run the kernel (no WebAssembly SIMD)`);
  return run;
}

function winogradInput(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const { tiles, offset } = args.attrs as unknown as WinogradAttrs;
  const backend = args.backend as ModuleBackend;
  if (x.dtype !== 'float32' || x.shape.length !== 4 || (x.shape[3] as number) % 4 !== 0)
    throw new Error(
      `${WINOGRAD_INPUT}: a float32 NHWC input with a multiple of 4 channels, got ${x.dtype} [${x.shape}]`,
    );
  const run = kernelOn(backend, inputKernelFor, WINOGRAD_INPUT);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const { out, at } = planes(backend, [n * tiles[0] * tiles[1], c]);
  if (tf.util.sizeFromShape(out.shape) > 0)
    run(
      backend.typedArrayFromHeap(x).byteOffset,
      ...at,
      n,
      h,
      w,
      c,
      tiles[0],
      tiles[1],
      offset[0],
      offset[1],
    );
  return out;
}

function winogradGradient(args: KernelArgs): tf.TensorInfo {
  const dy = args.inputs.dy as tf.TensorInfo;
  const { tiles } = args.attrs as unknown as WinogradAttrs;
  const backend = args.backend as ModuleBackend;
  if (dy.dtype !== 'float32' || dy.shape.length !== 4 || (dy.shape[3] as number) % 4 !== 0)
    throw new Error(
      `${WINOGRAD_GRADIENT}: a float32 NHWC output gradient with a multiple of 4 channels, got ${dy.dtype} [${dy.shape}]`,
    );
  const run = kernelOn(backend, gradientKernelFor, WINOGRAD_GRADIENT);
  const [n, oh, ow, k] = dy.shape as [number, number, number, number];
  const { out, at } = planes(backend, [n * tiles[0] * tiles[1], k]);
  if (tf.util.sizeFromShape(out.shape) > 0)
    run(backend.typedArrayFromHeap(dy).byteOffset, ...at, n, oh, ow, k, tiles[0], tiles[1]);
  return out;
}

function winogradOutput(args: KernelArgs): tf.TensorInfo {
  const m = args.inputs.m as tf.TensorInfo | undefined;
  const { tiles, output, relu = false } = args.attrs as unknown as WinogradAttrs;
  const bias = args.inputs.bias as tf.TensorInfo | undefined;
  const backend = args.backend as ModuleBackend;
  if (
    !output ||
    !m ||
    m.dtype !== 'float32' ||
    m.shape.length !== 3 ||
    m.shape[0] !== 16 ||
    m.shape[2]! % 4 !== 0
  )
    throw new Error(
      `${WINOGRAD_OUTPUT}: a float32 input m [16, P, C], C a multiple of 4, and an output size; got ${m ? `${m.dtype} [${m.shape}]` : 'no m'}`,
    );
  const [, p, c] = m.shape as [number, number, number];
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== c))
    throw new Error(`${WINOGRAD_OUTPUT}: a float32 bias of ${c} values, got ${bias.dtype} [${bias.shape}]`);
  const run = kernelOn(backend, outputKernelFor, WINOGRAD_OUTPUT);
  const n = p / (tiles[0] * tiles[1]);
  if (!Number.isInteger(n))
    throw new Error(`${WINOGRAD_OUTPUT}: ${p} rows are not whole images of ${tiles[0]}x${tiles[1]} tiles`);
  const out = backend.makeOutput([n, output[0], output[1], c], 'float32');
  if (tf.util.sizeFromShape(out.shape) === 0) return out;
  const at = planeAddresses(backend.typedArrayFromHeap(m).byteOffset, p * c);
  const biasAt = bias ? backend.typedArrayFromHeap(bias).byteOffset : 0;
  run(
    ...at,
    backend.typedArrayFromHeap(out).byteOffset,
    n,
    output[0],
    output[1],
    c,
    tiles[0],
    tiles[1],
    biasAt,
    relu ? 1 : 0,
  );
  return out;
}

/** Registers the three transforms for wasm where the runtime can run them (idempotent). */
export function registerWinogradTransforms(): void {
  const probe = new WebAssembly.Memory({ initial: 1 });
  if (KERNELS.some((kernelFor) => !kernelFor(probe))) return;
  for (const [kernelName, kernelFunc] of [
    [WINOGRAD_INPUT, winogradInput],
    [WINOGRAD_GRADIENT, winogradGradient],
    [WINOGRAD_OUTPUT, winogradOutput],
  ] as const)
    if (!tf.getKernel(kernelName, 'wasm'))
      tf.registerKernel({
        kernelName,
        backendName: 'wasm',
        kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      });
}

/**
 * Runs `fn` (synchronous) with the transforms removed, then registers them again if they were
 * there: for a trace that must see only tfjs's own kernels (the ONNX exporter's, which has no
 * translation for ours; @semseg/layers then takes the direct routes, the same values).
 */
export function withoutWinogradTransforms<T>(fn: () => T): T {
  const registered = NAMES.some((kernelName) => tf.getKernel(kernelName, 'wasm'));
  if (!registered) return fn();
  unregisterWinogradTransforms();
  try {
    return fn();
  } finally {
    registerWinogradTransforms();
  }
}

/** Removes the transforms (the baseline of a bench: the direct routes run instead). */
export function unregisterWinogradTransforms(): void {
  for (const kernelName of NAMES)
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
}
