// The mean-field kernels as WebAssembly SIMD, generated for one label count: every row of Q,
// messages and unaries holds the labels padded to a multiple of 4 (`groups` f32x4 vectors, the
// padded lanes held at zero in Q), so one f32x4 carries four labels, as in the reference's SSE code.
// Loops over vectors and simplex corners are unrolled at generation time. All pointers are byte
// addresses in the one imported memory.
import { type Code, FunctionBuilder, type Local } from './encoder.js';
import { f32, f32x4, forRange, i32, i32x4, local, memory, v128 } from './ops.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const get = local.get;
const set = local.set;
const add = (a: Local, step: number | Local): Code =>
  set(a, i32.add(get(a), typeof step === 'number' ? i32.const(step) : get(step)));

export const splatName = (dims: number, width: number) => `splat_d${dims}_w${width}`;
export const blurName = (width: number) => `blur_w${width}`;
export const sliceName = (dims: number, width: number, accumulate: boolean) =>
  `slice_d${dims}_w${width}_${accumulate ? 'add' : 'store'}`;

/**
 * values[vertex] += w * (input[i] * pre[i]) over each point's d + 1 corners, `width` vectors a row.
 * (n, input, inputStride, pre, preStride, offsets, weights, values): a stride of 0 repeats one row.
 */
export function splatKernel(dims: number, width: number): FunctionBuilder {
  const f = new FunctionBuilder(splatName(dims, width));
  const [n, input, inputStride, pre, preStride, offsets, weights, values] = range(8).map(() =>
    f.param('i32'),
  );
  const i = f.local('i32');
  const corner = f.local('i32');
  const scale = f.local('v128');
  const weight = f.local('v128');
  const x = range(width).map(() => f.local('v128'));
  const rowBytes = width * 16;
  f.body = forRange(
    i,
    i32.const(0),
    get(n),
    1,
    set(scale, v128.load32Splat(get(pre))),
    ...x.map((xg, g) => set(xg, f32x4.mul(v128.load(get(input), g * 16), get(scale)))),
    ...range(dims + 1).flatMap((j) => [
      set(corner, i32.add(get(values), i32.mul(i32.load(get(offsets), j * 4), i32.const(rowBytes)))),
      set(weight, v128.load32Splat(get(weights), j * 4)),
      ...x.map((xg, g) =>
        v128.store(
          get(corner),
          f32x4.add(v128.load(get(corner), g * 16), f32x4.mul(get(weight), get(xg))),
          g * 16,
        ),
      ),
    ]),
    add(input, inputStride),
    add(pre, preStride),
    add(offsets, (dims + 1) * 4),
    add(weights, (dims + 1) * 4),
  );
  return f;
}

/**
 * One blur pass along a lattice axis: dst[v] = src[v] + (src[n1] + src[n2]) / 2 for `count` vertices
 * from `first` (their rows are first+1..: row 0 is the empty vertex, always zero); `neighbours`
 * points at the first vertex's pair. (count, first, neighbours, src, dst).
 */
export function blurKernel(width: number): FunctionBuilder {
  const f = new FunctionBuilder(blurName(width));
  const [vertices, first, neighbours, src, dst] = range(5).map(() => f.param('i32'));
  const i = f.local('i32');
  const from = f.local('i32');
  const to = f.local('i32');
  const n1 = f.local('i32');
  const n2 = f.local('i32');
  const half = f.local('v128');
  const rowBytes = width * 16;
  const neighbourRow = (at: number) =>
    i32.add(get(src), i32.mul(i32.load(get(neighbours), at), i32.const(rowBytes)));
  f.body = [
    ...set(half, f32x4.splat(f32.const(0.5))),
    ...set(from, i32.add(get(src), i32.mul(i32.add(get(first), i32.const(1)), i32.const(rowBytes)))),
    ...set(to, i32.add(get(dst), i32.mul(i32.add(get(first), i32.const(1)), i32.const(rowBytes)))),
    ...forRange(
      i,
      i32.const(0),
      get(vertices),
      1,
      set(n1, neighbourRow(0)),
      set(n2, neighbourRow(4)),
      ...range(width).map((g) =>
        v128.store(
          get(to),
          f32x4.add(
            v128.load(get(from), g * 16),
            f32x4.mul(get(half), f32x4.add(v128.load(get(n1), g * 16), v128.load(get(n2), g * 16))),
          ),
          g * 16,
        ),
      ),
      add(neighbours, 8),
      add(from, rowBytes),
      add(to, rowBytes),
    ),
  ];
  return f;
}

/**
 * out[i] (+)= (scale * post[i]) * sum_j w_ij values[vertex_ij], `width` vectors a row.
 * (n, offsets, weights, values, post, postStride, scale: f32, out, outStride).
 */
export function sliceKernel(dims: number, width: number, accumulate: boolean): FunctionBuilder {
  const f = new FunctionBuilder(sliceName(dims, width, accumulate));
  const [n, offsets, weights, values, post, postStride] = range(6).map(() => f.param('i32'));
  const scale = f.param('f32');
  const out = f.param('i32');
  const outStride = f.param('i32');
  const i = f.local('i32');
  const corners = range(dims + 1).map(() => f.local('i32'));
  const w = range(dims + 1).map(() => f.local('v128'));
  const c = f.local('v128');
  const rowBytes = width * 16;
  const sum = (g: number): Code =>
    corners
      .map((corner, j) => f32x4.mul(get(w[j]), v128.load(get(corner), g * 16)))
      .reduce((acc, term) => f32x4.add(acc, term));
  f.body = forRange(
    i,
    i32.const(0),
    get(n),
    1,
    ...corners.flatMap((corner, j) => [
      set(corner, i32.add(get(values), i32.mul(i32.load(get(offsets), j * 4), i32.const(rowBytes)))),
      set(w[j], v128.load32Splat(get(weights), j * 4)),
    ]),
    set(c, f32x4.splat(f32.mul(get(scale), f32.load(get(post))))),
    ...range(width).map((g) => {
      const scaled = f32x4.mul(sum(g), get(c));
      return v128.store(
        get(out),
        accumulate ? f32x4.add(v128.load(get(out), g * 16), scaled) : scaled,
        g * 16,
      );
    }),
    add(offsets, (dims + 1) * 4),
    add(weights, (dims + 1) * 4),
    add(post, postStride),
    add(out, outStride),
  );
  return f;
}

/**
 * messages[i] -= W filtered[i] per row for a labels x labels compatibility W (stored as `labels`
 * rows of `groups` vectors; W is symmetric). (n, filtered, matrix, messages).
 */
export function compatibilityKernel(labels: number, groups: number): FunctionBuilder {
  const f = new FunctionBuilder('compatibility');
  const [n, filtered, matrix, messages] = range(4).map(() => f.param('i32'));
  const i = f.local('i32');
  const l = f.local('i32');
  const row = f.local('i32');
  const x = f.local('v128');
  const acc = range(groups).map(() => f.local('v128'));
  const rowBytes = groups * 16;
  f.body = forRange(
    i,
    i32.const(0),
    get(n),
    1,
    ...acc.map((a) => set(a, f32x4.splat(f32.const(0)))),
    set(row, get(matrix)),
    forRange(
      l,
      i32.const(0),
      i32.const(labels),
      1,
      set(x, f32x4.splat(f32.load(i32.add(get(filtered), i32.shl(get(l), i32.const(2)))))),
      ...acc.map((a, g) => set(a, f32x4.add(get(a), f32x4.mul(get(x), v128.load(get(row), g * 16))))),
      add(row, rowBytes),
    ),
    ...acc.map((a, g) =>
      v128.store(get(messages), f32x4.sub(v128.load(get(messages), g * 16), get(a)), g * 16),
    ),
    add(filtered, rowBytes),
    add(messages, rowBytes),
  );
  return f;
}

/** Cephes' expf polynomial (as Eigen's vectorised exp): about 1 ulp on |r| <= ln(2)/2. */
const expCoefficients = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
];
/** 1.5 * 2^23: a float in [2^23, 2^24) holds the integer it represents in its low mantissa bits. */
const mantissaMagic = 12582912;

/**
 * target = exp(x) for x <= 0 lane-wise: 2^n p(r) with n = round(x / ln 2). x is clamped at -87.3 so
 * that 2^n stays a normal float (exp there is below 1e-38, far under any label's share). 2^n is
 * built from the bits of n + 127 + 1.5 * 2^23 shifted into the exponent field.
 */
function vectorExp(f: FunctionBuilder, target: Local, x: Code): Code {
  const t = f.local('v128');
  const n = f.local('v128');
  const r = f.local('v128');
  const c = (v: number) => f32x4.splat(f32.const(v));
  const poly = expCoefficients
    .slice(1)
    .reduce((acc, coefficient) => f32x4.add(f32x4.mul(acc, get(r)), c(coefficient)), c(expCoefficients[0]));
  return [
    ...set(t, f32x4.pmax(x, c(-87.3365))),
    ...set(n, f32x4.nearest(f32x4.mul(get(t), c(Math.LOG2E)))),
    ...set(
      r,
      f32x4.sub(f32x4.sub(get(t), f32x4.mul(get(n), c(0.693359375))), f32x4.mul(get(n), c(-2.1219444e-4))),
    ),
    ...set(
      target,
      f32x4.mul(
        f32x4.add(f32x4.add(f32x4.mul(poly, f32x4.mul(get(r), get(r))), get(r)), c(1)),
        i32x4.shl(f32x4.add(get(n), c(mantissaMagic + 127)), i32.const(23)),
      ),
    ),
  ];
}

/** All four lanes of the horizontal max / sum of v. */
function horizontal(combine: (a: Code, b: Code) => Code, v: Local, into: Local): Code {
  const swapHalves = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const swapPairs = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
  return [
    ...set(into, combine(get(v), v128.shuffle(get(v), get(v), swapHalves))),
    ...set(into, combine(get(into), v128.shuffle(get(into), get(into), swapPairs))),
  ];
}

/**
 * q[i] = softmax(messages[i] - unary[i]) over `labels` labels (padded lanes of the last vector are
 * set to zero; their unary must be large so they never hold the maximum). (n, messages, unary, q).
 */
export function softmaxKernel(labels: number, groups: number): FunctionBuilder {
  const f = new FunctionBuilder('softmax');
  const [n, messages, unary, q] = range(4).map(() => f.param('i32'));
  const i = f.local('i32');
  const x = range(groups).map(() => f.local('v128'));
  const e = range(groups).map(() => f.local('v128'));
  const m = f.local('v128');
  const all = f.local('v128');
  const rowBytes = groups * 16;
  const usedLanes = labels - (groups - 1) * 4;
  const mask = new Uint8Array(16);
  mask.fill(0xff, 0, usedLanes * 4);
  const body: Code[] = [
    ...x.map((xg, g) => set(xg, f32x4.sub(v128.load(get(messages), g * 16), v128.load(get(unary), g * 16)))),
    set(
      m,
      x.slice(1).reduce<Code>((acc, xg) => f32x4.pmax(acc, get(xg)), get(x[0])),
    ),
    horizontal(f32x4.pmax, m, all),
    ...e.map((eg, g) => vectorExp(f, eg, f32x4.sub(get(x[g]), get(all)))),
    usedLanes < 4 ? set(e[groups - 1], v128.and(get(e[groups - 1]), v128.const(mask))) : [],
    set(
      m,
      e.slice(1).reduce<Code>((acc, eg) => f32x4.add(acc, get(eg)), get(e[0])),
    ),
    horizontal(f32x4.add, m, all),
    set(all, f32x4.div(f32x4.splat(f32.const(1)), get(all))),
    ...e.map((eg, g) => v128.store(get(q), f32x4.mul(get(eg), get(all)), g * 16)),
    add(messages, rowBytes),
    add(unary, rowBytes),
    add(q, rowBytes),
  ];
  f.body = forRange(i, i32.const(0), get(n), 1, ...body);
  return f;
}

export const splatTermsName = (dims: readonly number[]) => `splat_terms_d${dims.join('_')}`;
export const sliceTermsName = (dims: readonly number[]) => `slice_terms_d${dims.join('_')}`;

/**
 * The splat of several terms in one pass over Q (each row is read from memory once and then from
 * L1 for the next term), over whole rows of `groups` vectors: the same operations as splatKernel per
 * term. (n, input, then per term: pre, offsets, weights, values).
 */
export function splatTermsKernel(dimsList: readonly number[], groups: number): FunctionBuilder {
  const f = new FunctionBuilder(splatTermsName(dimsList));
  const n = f.param('i32');
  const input = f.param('i32');
  const terms = dimsList.map((dims) => ({
    dims,
    pre: f.param('i32'),
    offsets: f.param('i32'),
    weights: f.param('i32'),
    values: f.param('i32'),
  }));
  const i = f.local('i32');
  const corner = f.local('i32');
  const scale = f.local('v128');
  const weight = f.local('v128');
  const x = range(groups).map(() => f.local('v128'));
  const rowBytes = groups * 16;
  f.body = forRange(
    i,
    i32.const(0),
    get(n),
    1,
    ...terms.flatMap((t) => [
      set(scale, v128.load32Splat(get(t.pre))),
      ...x.map((xg, g) => set(xg, f32x4.mul(v128.load(get(input), g * 16), get(scale)))),
      ...range(t.dims + 1).flatMap((j) => [
        set(corner, i32.add(get(t.values), i32.mul(i32.load(get(t.offsets), j * 4), i32.const(rowBytes)))),
        set(weight, v128.load32Splat(get(t.weights), j * 4)),
        ...x.map((xg, g) =>
          v128.store(
            get(corner),
            f32x4.add(v128.load(get(corner), g * 16), f32x4.mul(get(weight), get(xg))),
            g * 16,
          ),
        ),
      ]),
      add(t.pre, 4),
      add(t.offsets, (t.dims + 1) * 4),
      add(t.weights, (t.dims + 1) * 4),
    ]),
    add(input, rowBytes),
  );
  return f;
}

/**
 * The slices of several Potts terms in one pass, summed into the messages, which are written once:
 * m = sum_k (scale_k post_k[i]) sum_j w_kj values_k[vertex_kj] in term order, the same operations
 * as sliceKernel's store then adds. (n, then per term: offsets, weights, values, post, scale: f32;
 * then out).
 */
export function sliceTermsKernel(dimsList: readonly number[], groups: number): FunctionBuilder {
  const f = new FunctionBuilder(sliceTermsName(dimsList));
  const n = f.param('i32');
  const terms = dimsList.map((dims) => ({
    dims,
    offsets: f.param('i32'),
    weights: f.param('i32'),
    values: f.param('i32'),
    post: f.param('i32'),
    scale: f.param('f32'),
  }));
  const out = f.param('i32');
  const i = f.local('i32');
  const rowBytes = groups * 16;
  const corners = terms.map((t) => range(t.dims + 1).map(() => ({ at: f.local('i32'), w: f.local('v128') })));
  const c = terms.map(() => f.local('v128'));
  const sum = (k: number, g: number): Code =>
    corners[k]
      .map((corner) => f32x4.mul(get(corner.w), v128.load(get(corner.at), g * 16)))
      .reduce((acc, term) => f32x4.add(acc, term));
  f.body = forRange(
    i,
    i32.const(0),
    get(n),
    1,
    ...terms.flatMap((t, k) => [
      ...corners[k].flatMap((corner, j) => [
        set(corner.at, i32.add(get(t.values), i32.mul(i32.load(get(t.offsets), j * 4), i32.const(rowBytes)))),
        set(corner.w, v128.load32Splat(get(t.weights), j * 4)),
      ]),
      set(c[k], f32x4.splat(f32.mul(get(t.scale), f32.load(get(t.post))))),
    ]),
    ...range(groups).map((g) =>
      v128.store(
        get(out),
        terms.map((_, k) => f32x4.mul(sum(k, g), get(c[k]))).reduce((acc, scaled) => f32x4.add(acc, scaled)),
        g * 16,
      ),
    ),
    ...terms.flatMap((t) => [
      add(t.offsets, (t.dims + 1) * 4),
      add(t.weights, (t.dims + 1) * 4),
      add(t.post, 4),
    ]),
    add(out, rowBytes),
  );
  return f;
}

export interface KernelSet {
  labels: number;
  /** Vectors per padded row: ceil(labels / 4). */
  groups: number;
  /** Feature dimensions of the lattices. */
  dims: readonly number[];
  /** Row widths (in vectors) to filter at: all groups, one per thread's share, and 1 for normalising. */
  widths: readonly number[];
  /** Feature dimensions of the Potts terms, in order, for the fused splat and slice (one thread). */
  fused?: readonly number[];
}

/** zero(address, bytes): a memset (TypedArray.fill goes element by element on shared memory). */
export function zeroKernel(): FunctionBuilder {
  const f = new FunctionBuilder('zero');
  const address = f.param('i32');
  const bytes = f.param('i32');
  f.body = memory.fill(get(address), i32.const(0), get(bytes));
  return f;
}

/** Every function of a kernel set. */
export function kernelFunctions(spec: KernelSet): FunctionBuilder[] {
  const functions = [
    softmaxKernel(spec.labels, spec.groups),
    compatibilityKernel(spec.labels, spec.groups),
    compactRowsKernel(spec.labels, spec.groups),
    expandRowsKernel(spec.labels, spec.groups),
    zeroKernel(),
  ];
  if (spec.fused?.length) {
    functions.push(splatTermsKernel(spec.fused, spec.groups), sliceTermsKernel(spec.fused, spec.groups));
  }
  for (const width of new Set(spec.widths)) {
    functions.push(blurKernel(width));
    for (const dims of new Set(spec.dims)) {
      functions.push(
        splatKernel(dims, width),
        sliceKernel(dims, width, false),
        sliceKernel(dims, width, true),
      );
    }
  }
  return functions;
}

/**
 * compactRows(n, src, dst): rows of `groups` vectors to rows of `labels` floats, in order, so dst may
 * equal src (each row is read before it is written, and the 0-3 floats written past a row's end
 * belong to rows not yet written).
 */
export function compactRowsKernel(labels: number, groups: number): FunctionBuilder {
  const f = new FunctionBuilder('compactRows');
  const [n, src, dst] = range(3).map(() => f.param('i32'));
  const i = f.local('i32');
  const x = range(groups).map(() => f.local('v128'));
  f.body = forRange(
    i,
    i32.const(0),
    get(n),
    1,
    ...x.map((xg, g) => set(xg, v128.load(get(src), g * 16))),
    ...x.map((xg, g) => v128.store(get(dst), get(xg), g * 16)),
    add(src, groups * 16),
    add(dst, labels * 4),
  );
  return f;
}

/**
 * expandRows(n, src, dst, padding: f32): rows of `labels` floats to rows of `groups` vectors with
 * the padded lanes set to `padding`, last row first, so dst may equal src.
 */
export function expandRowsKernel(labels: number, groups: number): FunctionBuilder {
  const f = new FunctionBuilder('expandRows');
  const [n, src, dst] = range(3).map(() => f.param('i32'));
  const padding = f.param('f32');
  const i = f.local('i32');
  const pad = f.local('v128');
  const x = range(groups).map(() => f.local('v128'));
  const usedLanes = labels - (groups - 1) * 4;
  const mask = new Uint8Array(16);
  mask.fill(0xff, 0, usedLanes * 4);
  const last = groups - 1;
  f.body = [
    ...set(pad, f32x4.splat(get(padding))),
    ...set(src, i32.add(get(src), i32.mul(get(n), i32.const(labels * 4)))),
    ...set(dst, i32.add(get(dst), i32.mul(get(n), i32.const(groups * 16)))),
    ...forRange(
      i,
      i32.const(0),
      get(n),
      1,
      add(src, -labels * 4),
      add(dst, -groups * 16),
      ...x.map((xg, g) => set(xg, v128.load(get(src), g * 16))),
      set(x[last], v128.bitselect(get(x[last]), get(pad), v128.const(mask))),
      ...x.map((xg, g) => v128.store(get(dst), get(xg), g * 16)),
    ),
  ];
  return f;
}
