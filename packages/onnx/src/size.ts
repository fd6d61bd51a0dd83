// A dynamic input height and width: the forward traced again at +S rows and at +S columns (S a
// multiple of the model's total stride, so every downsampling keeps its residue), the dims that
// grew follow the input size, and the sizes the graph then serves.
import type { SizeInfo, SpatialDim } from './convert/context.js';
import { NotSizeGeneric } from './convert/context.js';
import type { Graph } from './ir.js';
import type { Trace, TracedTensor } from './trace.js';

const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

function pairOf(value: unknown): [number, number] {
  if (value === undefined || value === null) return [1, 1];
  if (typeof value === 'number') return [value, value];
  const v = value as number[];
  return [v[0] ?? 1, v[1] ?? v[0] ?? 1];
}

const DOWNSAMPLING = new Set([
  'Conv2D',
  'FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2D',
  'MaxPool',
  'AvgPool',
]);

/**
 * The least common multiple of the cumulative strides of every traced tensor (strided convs and
 * pools multiply, transposed convs divide, space-to-batch blocks multiply and batch-to-space
 * divide): input sizes
 * that differ by a multiple of it give every strided kernel inputs of the same residue.
 */
export function totalStride(trace: Trace): number {
  const stride = new Map<number, number>([[trace.input.id, 1]]);
  let total = 1;
  for (const k of trace.kernels) {
    let s = 1;
    for (const [, t] of k.inputs) s = lcm(s, stride.get(t.id) ?? 1);
    if (DOWNSAMPLING.has(k.kernel)) {
      const [a, b] = pairOf(k.attrs.strides);
      s *= lcm(a, b);
    } else if (k.kernel === 'SpaceToBatchND') {
      const [a, b] = pairOf(k.attrs.blockShape);
      s *= lcm(a, b);
    } else if (k.kernel === 'Conv2DBackpropInput' || k.kernel === 'BatchToSpaceND') {
      const [a, b] = pairOf(k.kernel === 'BatchToSpaceND' ? k.attrs.blockShape : k.attrs.strides);
      const up = lcm(a, b);
      if (s % up === 0) s /= up;
    }
    total = lcm(total, s);
    for (const t of k.outputs) stride.set(t.id, s);
  }
  return total;
}

/** For each dim: null, or how it grows with the input's height (axis 1) or width (axis 2). */
type Dims = Array<SpatialDim | null>;

export interface SizePairing {
  /** The size info of each of the three traces (the same per position, keyed by each one's ids). */
  infos: [SizeInfo, SizeInfo, SizeInfo];
}

/**
 * Pairs the trace at H x W with those at (H + S) x W and H x (W + S): a dim that grew by `step`
 * in the first follows the height, in the second the width. Throws NotSizeGeneric when the
 * traces run different kernels, or a dim follows both (a flattened image: not affine in each).
 */
export function pairSizes(base: Trace, taller: Trace, wider: Trace, step: number): SizePairing {
  if (base.kernels.length !== taller.kernels.length || base.kernels.length !== wider.kernels.length)
    throw new NotSizeGeneric('the forward runs different kernels at another input size');
  const maps = [new Map<number, Dims>(), new Map<number, Dims>(), new Map<number, Dims>()] as const;
  const pair = (a: TracedTensor, h: TracedTensor, w: TracedTensor) => {
    if (a.shape.length !== h.shape.length || a.shape.length !== w.shape.length)
      throw new NotSizeGeneric('a tensor whose rank depends on the input size');
    const dims: Dims = a.shape.map((d, i) => {
      const [dh, dw] = [h.shape[i]! - d, w.shape[i]! - d];
      if (dh < 0 || dw < 0) throw new NotSizeGeneric('a dim that shrinks as the input grows');
      if (dh !== 0 && dw !== 0) return { axis: 0, step: 0 };
      return dh !== 0 ? { axis: 1, step: dh } : dw !== 0 ? { axis: 2, step: dw } : null;
    });
    const known = maps[0].get(a.id);
    if (known && JSON.stringify(known) !== JSON.stringify(dims))
      throw new NotSizeGeneric('a tensor traced with two different sizes');
    maps[0].set(a.id, dims);
    maps[1].set(h.id, dims);
    maps[2].set(w.id, dims);
  };
  pair(base.input, taller.input, wider.input);
  const inputDims = maps[0].get(base.input.id)!;
  if (
    inputDims[1]?.step !== step ||
    inputDims[2]?.step !== step ||
    inputDims[1].axis !== 1 ||
    inputDims[2].axis !== 2
  )
    throw new NotSizeGeneric('the traced inputs do not differ by the size step');
  for (let i = 0; i < base.kernels.length; i++) {
    const [a, h, w] = [base.kernels[i]!, taller.kernels[i]!, wider.kernels[i]!];
    if (
      a.kernel !== h.kernel ||
      a.kernel !== w.kernel ||
      a.inputs.length !== h.inputs.length ||
      a.inputs.length !== w.inputs.length ||
      a.outputs.length !== h.outputs.length ||
      a.outputs.length !== w.outputs.length
    )
      throw new NotSizeGeneric(
        `the forward runs different kernels at another input size (${a.kernel}, ${h.kernel})`,
      );
    a.inputs.forEach(([, t], j) => pair(t, h.inputs[j]![1], w.inputs[j]![1]));
    a.outputs.forEach((t, j) => pair(t, h.outputs[j]!, w.outputs[j]!));
  }
  pair(base.output, taller.output, wider.output);
  // Scalar constants whose value grew with one side: sizes the forward computed with.
  const values = [
    new Map<number, SpatialDim>(),
    new Map<number, SpatialDim>(),
    new Map<number, SpatialDim>(),
  ] as const;
  base.kernels.forEach((k, i) => {
    k.inputs.forEach(([, t], j) => {
      if (base.dependent.has(t.id)) return;
      const [h, w] = [taller.kernels[i]!.inputs[j]![1], wider.kernels[i]!.inputs[j]![1]];
      const [a, b, c] = [base.values.get(t.id), taller.values.get(h.id), wider.values.get(w.id)];
      if (!a || !b || !c || a.length !== 1 || b.length !== 1 || c.length !== 1) return;
      const [dh, dw] = [b[0]! - a[0]!, c[0]! - a[0]!];
      if (
        !Number.isInteger(a[0]) ||
        !Number.isInteger(dh) ||
        !Number.isInteger(dw) ||
        (dh !== 0) === (dw !== 0)
      )
        return;
      const dim: SpatialDim = dh !== 0 ? { axis: 1, step: dh } : { axis: 2, step: dw };
      values[0].set(t.id, dim);
      values[1].set(h.id, dim);
      values[2].set(w.id, dim);
    });
  });
  return {
    infos: [
      { step, dims: maps[0], values: values[0] },
      { step, dims: maps[1], values: values[1] },
      { step, dims: maps[2], values: values[2] },
    ],
  };
}

/** The sizes a graph serves along one axis: `min`, `min + modulus`, ... (modulus 0: exactly `min`). */
export interface ServedAxis {
  modulus: number;
  min: number;
}

export interface ServedSizes {
  height: ServedAxis;
  width: ServedAxis;
}

/** Whether a graph that serves `sizes` takes an input of `height` x `width`. */
export function serves(sizes: ServedSizes, height: number, width: number): boolean {
  const ok = (a: ServedAxis, v: number) =>
    a.modulus === 0 ? v === a.min : v >= a.min && (v - a.min) % a.modulus === 0;
  return ok(sizes.height, height) && ok(sizes.width, width);
}

/** One axis in words: "37", or "any height ≡ 5 (mod 32) from 5". */
export function describeAxis(what: string, a: ServedAxis): string {
  if (a.modulus === 0) return `${what} ${a.min}`;
  if (a.modulus === 1) return `any ${what} from ${a.min}`;
  return `${what} ≡ ${a.min % a.modulus} (mod ${a.modulus}) from ${a.min}`;
}

/**
 * The smallest sizes on the traced sizes' residue class at which every dim that follows the input
 * is still at least 1 (below that a valid convolution or a pool has nothing to read).
 */
export function servedSizes(
  base: Trace,
  info: SizeInfo,
  minimums: ReadonlyArray<{ of: TracedTensor; axis: number; min: number }> = [],
): ServedSizes {
  const steps = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  const require = (t: TracedTensor, i: number, min: number) => {
    const d = info.dims.get(t.id)?.[i];
    if (!d || d.axis === 0) return;
    // d(k) = traced + step * k >= min, k the number of steps of S from the traced size.
    steps[d.axis] = Math.max(steps[d.axis]!, Math.ceil((min - t.shape[i]!) / d.step));
  };
  const visit = (t: TracedTensor) => t.shape.forEach((_, i) => require(t, i, 1));
  for (const m of minimums) require(m.of, m.axis, m.min);
  visit(base.input);
  for (const k of base.kernels) {
    for (const [, t] of k.inputs) visit(t);
    for (const t of k.outputs) visit(t);
  }
  const axis = (a: 1 | 2): ServedAxis => ({
    modulus: info.step,
    min: base.input.shape[a]! + info.step * steps[a]!,
  });
  return { height: axis(1), width: axis(2) };
}

/** Where two translations differ (for the reason a size-generic export is refused), or null. */
export function graphDifference(a: Graph, b: Graph): string | null {
  if (a.nodes.length !== b.nodes.length) return `${a.nodes.length} against ${b.nodes.length} nodes`;
  for (let i = 0; i < a.nodes.length; i++) {
    const [x, y] = [a.nodes[i]!, b.nodes[i]!];
    if (x.opType !== y.opType || x.inputs.join() !== y.inputs.join())
      return `node ${i} (${x.opType}, ${y.opType})`;
    for (const [name, value] of Object.entries(x.attributes)) {
      const other = y.attributes[name];
      if (value.kind === 'graph' && other?.kind === 'graph') {
        const inner = graphDifference(value.value, other.value);
        if (inner !== null) return `${inner} in the ${x.opType} body`;
      } else if (JSON.stringify(value, bigintSafe) !== JSON.stringify(other, bigintSafe)) {
        const shown = (a: typeof value | undefined) => JSON.stringify(a?.value, bigintSafe);
        return `the ${name} of a ${x.opType} (${shown(value)} against ${shown(other)})`;
      }
    }
  }
  if (a.initializers.length !== b.initializers.length) return 'the number of constants';
  for (let i = 0; i < a.initializers.length; i++) {
    const [x, y] = [a.initializers[i]!, b.initializers[i]!];
    if (x.name !== y.name || x.dims.join() !== y.dims.join() || !sameBytes(x.data, y.data))
      return `a constant of shape [${x.dims.join(', ')}] (its values depend on the input size)`;
  }
  return null;
}

function bigintSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, String);
  return value;
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const [x, y] = [
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  ];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The metadata_props key with the sizes a graph serves (JSON ServedSizes). */
export const SIZES_METADATA_KEY = 'semseg.sizes';

function isServedAxis(v: unknown): v is ServedAxis {
  const a = v as ServedAxis;
  return (
    typeof a === 'object' &&
    a !== null &&
    Number.isInteger(a.modulus) &&
    a.modulus >= 0 &&
    Number.isInteger(a.min) &&
    a.min >= 1
  );
}

/** The sizes an exported graph serves, from its metadata_props; null when it does not say. */
export function servedSizesOf(props: Readonly<Record<string, string>>): ServedSizes | null {
  const text = props[SIZES_METADATA_KEY];
  if (text === undefined) return null;
  try {
    const parsed = JSON.parse(text) as { height?: unknown; width?: unknown };
    if (isServedAxis(parsed.height) && isServedAxis(parsed.width))
      return { height: parsed.height, width: parsed.width };
  } catch {
    // fall through: not ours
  }
  return null;
}

/** The sizes in words, for errors and the CLI: "height 37, width 41" or "height ≡ 5 (mod 32) ...". */
export function describeSizes(sizes: ServedSizes): string {
  return `${describeAxis('height', sizes.height)}, ${describeAxis('width', sizes.width)}`;
}
