// One ONNX translation per tfjs kernel. Shape arguments (Reshape targets, Slice ends, Resize
// sizes) come from the converter: the traced values, or computed from the input's shape where the
// batch or the size is dynamic; 4-D image ops run in NCHW (ONNX's Conv and pools) through the
// converter's twins.
import * as tf from '@tensorflow/tfjs-core';
import { DataType, float, int, ints, str } from '../ir.js';
import type { TracedKernel, TracedTensor } from '../trace.js';
import { type Converter, ExportError, type FoldableConv, NotBatchGeneric, onnxType } from './context.js';

function failBatch(): never {
  throw new NotBatchGeneric('a strided slice along the batch axis');
}
import { fusedBatchNorm } from './batch-norm.js';
import { convGeometry, poolGeometry } from './geometry.js';
import { interpolationMatMul, reflectGather } from './patterns.js';

/** Returns the ONNX names of the kernel's outputs, in order. */
export type KernelHandler = (k: TracedKernel, c: Converter) => string[];

function input(k: TracedKernel, name: string): TracedTensor {
  const found = k.inputs.find(([n]) => n === name);
  if (!found) throw new ExportError(`onnx export: kernel ${k.kernel} has no input '${name}'`);
  return found[1];
}

function maybeInput(k: TracedKernel, name: string): TracedTensor | undefined {
  return k.inputs.find(([n]) => n === name)?.[1];
}

function out(k: TracedKernel, i = 0): TracedTensor {
  return k.outputs[i]!;
}

function attr<T>(k: TracedKernel, name: string): T {
  return k.attrs[name] as T;
}

function normaliseAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function axesOf(k: TracedKernel, name: string, rank: number): number[] {
  const raw = k.attrs[name] as number | number[] | null | undefined;
  if (raw === null || raw === undefined) return Array.from({ length: rank }, (_, i) => i);
  return (Array.isArray(raw) ? raw : [raw]).map((a) => normaliseAxis(a, rank));
}

// ---- element-wise ------------------------------------------------------------------------------

const UNARY: Record<string, string> = {
  Relu: 'Relu',
  Sigmoid: 'Sigmoid',
  Abs: 'Abs',
  Floor: 'Floor',
  Ceil: 'Ceil',
  Neg: 'Neg',
  Exp: 'Exp',
  Log: 'Log',
  Sqrt: 'Sqrt',
  Tanh: 'Tanh',
  Reciprocal: 'Reciprocal',
  Round: 'Round',
  Sign: 'Sign',
  Erf: 'Erf',
  LogicalNot: 'Not',
};

/** Unary ops keep the layout: on a value with an NCHW twin, run on the twin. */
function unary(emit: (c: Converter, x: string) => string): KernelHandler {
  return (k, c) => {
    const x = k.inputs[0]![1];
    const name = c.value(x);
    const twin = x.shape.length === 4 ? c.nchw.get(name) : undefined;
    if (twin !== undefined) return [c.fromNchw(emit(c, twin))];
    return [emit(c, name)];
  };
}

const BINARY: Record<string, string> = {
  Add: 'Add',
  Sub: 'Sub',
  Multiply: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
  Pow: 'Pow',
  Greater: 'Greater',
  GreaterEqual: 'GreaterOrEqual',
  Less: 'Less',
  LessEqual: 'LessOrEqual',
  Equal: 'Equal',
  LogicalAnd: 'And',
  LogicalOr: 'Or',
};

/** Channels of a constant that broadcasts per channel over an NHWC value (all dims 1 but the last). */
function perChannel(constant: TracedTensor, value: TracedTensor): number | null {
  const s = constant.shape;
  if (s.length > value.shape.length) return null;
  for (let i = 0; i < s.length - 1; i++) if (s[i] !== 1) return null;
  const last = s.length === 0 ? 1 : s[s.length - 1]!;
  const channels = value.shape[value.shape.length - 1]!;
  return last === 1 || last === channels ? last : null;
}

/** Folds `conv-output op constant` into the conv's weights and bias; false when it cannot. */
function foldIntoConv(k: TracedKernel, c: Converter): boolean {
  if (!c.foldAffine || k.inputs.length !== 2) return false;
  const [a, b] = [k.inputs[0]![1], k.inputs[1]![1]];
  const xFirst = c.isDependent(a) && !c.isDependent(b);
  const [x, k2] = xFirst ? [a, b] : [b, a];
  if (!c.isDependent(x) || c.isDependent(k2) || k2.dtype !== 'float32') return false;
  const conv = c.convs.get(x.id);
  if (!conv || c.consumerCount(x) !== 1) return false;
  if (out(k).shape.join() !== x.shape.join() || perChannel(k2, x) === null) return false;
  // x - k folds, k - x does not (it flips the sign of the weights too: still affine, but rare).
  if (k.kernel === 'Sub' && !xFirst) return false;
  if (k.kernel === 'RealDiv' && !xFirst) return false;
  const values = c.data(k2) as Float32Array;
  const at = (o: number) => (values.length === 1 ? values[0]! : values[o]!);
  const bias = conv.bias.data as Float32Array;
  if (k.kernel === 'Add') for (let o = 0; o < conv.channels; o++) bias[o]! += at(o);
  else if (k.kernel === 'Sub') for (let o = 0; o < conv.channels; o++) bias[o]! -= at(o);
  else {
    const scale = (o: number) => (k.kernel === 'Multiply' ? at(o) : 1 / at(o));
    ownWeight(c, conv);
    const w = conv.weight.data as Float32Array;
    const per = w.length / conv.channels;
    for (let o = 0; o < conv.channels; o++) {
      const s = scale(o);
      bias[o]! *= s;
      for (let i = o * per; i < (o + 1) * per; i++) w[i]! *= s;
    }
  }
  c.names.set(out(k).id, c.value(x));
  c.convs.set(out(k).id, conv);
  return true;
}

function ownWeight(c: Converter, conv: FoldableConv): void {
  if (conv.ownsWeight) return;
  const copy = (conv.weight.data as Float32Array).slice();
  const name = c.b.float('W', conv.weight.dims, copy);
  conv.weight = c.b.initializers[c.b.initializers.length - 1]!;
  conv.node.inputs[1] = name;
  conv.ownsWeight = true;
}

/** A per-channel constant reshaped to [C, 1, 1] (or a scalar) for an NCHW operand. */
function constantForNchw(c: Converter, t: TracedTensor): string | null {
  if (t.dtype !== 'float32') return null;
  const s = t.shape;
  for (let i = 0; i < s.length - 1; i++) if (s[i] !== 1) return null;
  const data = c.data(t) as Float32Array;
  if (data.length === 1) return c.value(t);
  return c.convertedConstant(t, 'c11', () => ({
    name: c.b.fresh('const_c11'),
    dataType: DataType.FLOAT,
    dims: [data.length, 1, 1],
    data: data.slice(),
  })).name;
}

function binary(op: string): KernelHandler {
  return (k, c) => {
    if (foldIntoConv(k, c)) return [c.names.get(out(k).id)!];
    const [a, b] = [k.inputs[0]![1], k.inputs[1]![1]];
    const result = out(k);
    // In NCHW when both operands have twins (residual sums), or one has and the other is per channel.
    if (result.shape.length === 4 && result.dtype === 'float32') {
      const side = (t: TracedTensor): string | null => {
        if (c.isDependent(t)) {
          if (t.shape.join() !== result.shape.join()) return null;
          return c.nchw.get(c.value(t)) ?? null;
        }
        return perChannel(t, result) === null ? null : constantForNchw(c, t);
      };
      const [na, nb] = [side(a), side(b)];
      if (na !== null && nb !== null && (c.isDependent(a) || c.isDependent(b))) {
        return [c.fromNchw(c.b.node(op, [na, nb]))];
      }
    }
    return [c.b.node(op, [c.value(a), c.value(b)])];
  };
}

// ---- convolutions ------------------------------------------------------------------------------

function conv(kind: 'conv' | 'depthwise', fused: boolean): KernelHandler {
  return (k, c) => {
    const x = input(k, 'x');
    const filter = input(k, 'filter');
    if (c.isDependent(filter))
      throw new ExportError('onnx export: convolution filters computed from the input are not supported');
    const format = attr<string>(k, 'dataFormat');
    if (format !== undefined && format !== 'NHWC')
      throw new ExportError(`onnx export: conv data format ${format} is not supported`);
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const outChannels = kind === 'conv' ? co : ci * co;
    const f = c.data(filter) as Float32Array;
    // HWIO -> OIHW; depthwise [kh, kw, C, M] -> [C * M, 1, kh, kw].
    const weight = c.convertedConstant(filter, kind, () => {
      const w = new Float32Array(f.length);
      if (kind === 'conv') {
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let p = 0; p < ci; p++)
              for (let o = 0; o < co; o++)
                w[((o * ci + p) * kh + i) * kw + j] = f[((i * kw + j) * ci + p) * co + o]!;
        return { name: c.b.fresh('W'), dataType: DataType.FLOAT, dims: [co, ci, kh, kw], data: w };
      }
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          for (let p = 0; p < ci; p++)
            for (let m = 0; m < co; m++)
              w[((p * co + m) * kh + i) * kw + j] = f[((i * kw + j) * ci + p) * co + m]!;
      return { name: c.b.fresh('W'), dataType: DataType.FLOAT, dims: [ci * co, 1, kh, kw], data: w };
    });
    const biasData = new Float32Array(outChannels);
    const biasInput = fused ? maybeInput(k, 'bias') : undefined;
    if (biasInput) {
      if (c.isDependent(biasInput))
        throw new ExportError('onnx export: a conv bias computed from the input is not supported');
      const b = c.data(biasInput) as Float32Array;
      for (let o = 0; o < outChannels; o++) biasData[o] = b.length === 1 ? b[0]! : b[o]!;
    }
    const biasName = c.b.float('B', [outChannels], biasData);
    const bias = c.b.initializers[c.b.initializers.length - 1]!;
    const g = convGeometry(k, x.shape, [kh, kw], out(k).shape);
    const node = {
      inputs: [c.toNchw(c.value(x)), weight.name, biasName],
    };
    const attrs = {
      kernel_shape: ints([kh, kw]),
      strides: ints(g.strides),
      dilations: ints(g.dilations),
      pads: ints(g.pads),
      group: int(kind === 'conv' ? 1 : ci),
    };
    const y = c.b.node('Conv', node.inputs, attrs);
    // The builder copied the inputs array: keep a handle on the node itself for weight copies.
    const built = c.b.nodes[c.b.nodes.length - 1]!;
    let result = y;
    const activation = fused ? attr<string>(k, 'activation') : 'linear';
    if (activation && activation !== 'linear') result = activationNode(c, activation, y, k);
    const nhwc = c.fromNchw(result);
    if (result === y) {
      c.convs.set(out(k).id, { weight, bias, channels: outChannels, ownsWeight: false, node: built });
    }
    return [nhwc];
  };
}

function activationNode(c: Converter, activation: string, x: string, k: TracedKernel): string {
  switch (activation) {
    case 'relu':
      return c.b.node('Relu', [x]);
    case 'relu6':
      return c.b.node('Clip', [x, c.b.scalar(0), c.b.scalar(6)]);
    case 'sigmoid':
      return c.b.node('Sigmoid', [x]);
    case 'elu':
      return c.b.node('Elu', [x]);
    case 'leakyrelu':
      return c.b.node('LeakyRelu', [x], { alpha: float(attr<number>(k, 'leakyreluAlpha') ?? 0.2) });
    default:
      throw new ExportError(`onnx export: fused activation '${activation}' is not supported`);
  }
}

const convTranspose: KernelHandler = (k, c) => {
  const dy = input(k, 'dy');
  const filter = input(k, 'filter');
  if (c.isDependent(filter))
    throw new ExportError('onnx export: transposed-conv filters computed from the input are not supported');
  // tfjs filter [kh, kw, outC, inC] (inC = dy's channels) -> ONNX ConvTranspose W [inC, outC, kh, kw].
  const [kh, kw, oc, ic] = filter.shape as [number, number, number, number];
  const f = c.data(filter) as Float32Array;
  const weight = c.convertedConstant(filter, 'convT', () => {
    const w = new Float32Array(f.length);
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++)
        for (let o = 0; o < oc; o++)
          for (let p = 0; p < ic; p++)
            w[((p * oc + o) * kh + i) * kw + j] = f[((i * kw + j) * oc + o) * ic + p]!;
    return { name: c.b.fresh('WT'), dataType: DataType.FLOAT, dims: [ic, oc, kh, kw], data: w };
  });
  const outShape = out(k).shape;
  // The forward conv this is the input gradient of: its input is our output.
  const g = convGeometry(k, outShape, [kh, kw], dy.shape);
  const pads = [g.pads[0]!, g.pads[1]!, 0, 0];
  const outputPadding = [0, 0];
  for (let a = 0; a < 2; a++) {
    const full = (dy.shape[1 + a]! - 1) * g.strides[a]! + (([kh, kw][a]! - 1) * g.dilations[a]! + 1);
    const rest = full - pads[a]! - outShape[1 + a]!;
    if (rest >= 0) pads[2 + a] = rest;
    else outputPadding[a] = -rest;
  }
  const y = c.b.node('ConvTranspose', [c.toNchw(c.value(dy)), weight.name], {
    kernel_shape: ints([kh, kw]),
    strides: ints(g.strides),
    dilations: ints(g.dilations),
    pads: ints(pads),
    output_padding: ints(outputPadding),
  });
  return [c.fromNchw(y)];
};

function pool(op: 'MaxPool' | 'AveragePool'): KernelHandler {
  return (k, c) => {
    const x = input(k, 'x');
    const g = poolGeometry(k, x.shape, out(k).shape);
    const attrs: Record<string, ReturnType<typeof ints>> = {
      kernel_shape: ints(g.kernel),
      strides: ints(g.strides),
      pads: ints(g.pads),
    };
    if (op === 'AveragePool') attrs.count_include_pad = int(0);
    return [c.fromNchw(c.b.node(op, [c.toNchw(c.value(x))], attrs))];
  };
}

// ---- shapes and data movement ------------------------------------------------------------------

const reshape: KernelHandler = (k, c) => [
  c.b.node('Reshape', [c.value(k.inputs[0]![1]), c.reshapeTarget(out(k))]),
];

const identity: KernelHandler = (k, c) => [c.value(k.inputs[0]![1])];

const transpose: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const perm = attr<number[]>(k, 'perm');
  const name = c.value(x);
  // NHWC -> NCHW of a value with a twin is the twin itself.
  if (perm.join() === '0,3,1,2' && c.nchw.has(name)) return [c.nchw.get(name)!];
  return [c.b.node('Transpose', [name], { perm: ints(perm) })];
};

function padNode(
  c: Converter,
  x: TracedTensor,
  paddings: Array<[number, number]>,
  mode: string,
  value = 0,
): string {
  const pads = [...paddings.map((p) => p[0]), ...paddings.map((p) => p[1])];
  const inputs = [c.value(x), c.b.int64(pads)];
  if (mode === 'constant') inputs.push(c.scalarOf(x.dtype, value));
  return c.b.node('Pad', inputs, { mode: str(mode) });
}

const padV2: KernelHandler = (k, c) => [
  padNode(c, input(k, 'x'), attr(k, 'paddings'), 'constant', attr<number>(k, 'constantValue') ?? 0),
];

const mirrorPad: KernelHandler = (k, c) => {
  const mode = attr<string>(k, 'mode');
  if (mode !== 'reflect') throw new ExportError(`onnx export: MirrorPad mode '${mode}' has no ONNX Pad mode`);
  return [padNode(c, input(k, 'x'), attr(k, 'paddings'), 'reflect')];
};

const slice: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const [begin] = tf.slice_util.parseSliceParams(
    { shape: x.shape } as unknown as tf.TensorInfo,
    attr(k, 'begin'),
    attr(k, 'size'),
  );
  const shape = out(k).shape;
  const axes = x.shape.map((_, i) => i);
  return [
    c.b.node('Slice', [
      c.value(x),
      c.b.int64(begin),
      c.sliceEnds(
        x,
        begin,
        begin.map((b, i) => b + shape[i]!),
        out(k),
      ),
      c.b.int64(axes),
    ]),
  ];
};

const stridedSlice: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const info = tf.slice_util.sliceInfo(
    x.shape,
    attr(k, 'begin'),
    attr(k, 'end'),
    attr(k, 'strides'),
    attr(k, 'beginMask'),
    attr(k, 'endMask'),
    attr(k, 'ellipsisMask'),
    attr(k, 'newAxisMask'),
    attr(k, 'shrinkAxisMask'),
  );
  // A negative end with a negative stride means "past the first element", not "from the back".
  const ends = info.end.map((e, i) => (info.strides[i]! < 0 && e < 0 ? -(2 ** 53) : e));
  const sliced = c.b.node('Slice', [
    c.value(x),
    c.b.int64(info.begin),
    info.strides.some((st, i) => st !== 1 && c.scaled(x)[i])
      ? failBatch()
      : // Size-following axes only whole (x as the result: a shorter slice is refused).
        c.sliceEnds(x, info.begin, ends, x),
    c.b.int64(x.shape.map((_, i) => i)),
    c.b.int64(info.strides),
  ]);
  return [c.b.node('Reshape', [sliced, c.reshapeTarget(out(k))])];
};

const concat: KernelHandler = (k, c) => {
  const rank = out(k).shape.length;
  const axis = normaliseAxis(attr<number>(k, 'axis'), rank);
  const parts = k.inputs.map(([, t]) => t).filter((t) => t.shape[axis] !== 0);
  if (rank === 4 && axis === 3) {
    // Channel concat of NCHW twins stays NCHW (dense blocks, ASPP branches).
    const twins = parts.map((t) => (c.isDependent(t) ? c.nchw.get(c.value(t)) : undefined));
    if (twins.every((t) => t !== undefined))
      return [c.fromNchw(c.b.node('Concat', twins as string[], { axis: int(1) }))];
  }
  return [
    c.b.node(
      'Concat',
      parts.map((t) => c.value(t)),
      { axis: int(axis) },
    ),
  ];
};

const pack: KernelHandler = (k, c) => {
  const shape = out(k).shape;
  const axis = normaliseAxis(attr<number>(k, 'axis'), shape.length);
  const one = [...shape];
  one[axis] = 1;
  const parts = k.inputs.map(([, t]) =>
    c.b.node('Reshape', [
      c.value(t),
      c.vector(one.map((d, i) => (i === axis ? d : { of: out(k), axis: i }))),
    ]),
  );
  return [c.b.node('Concat', parts, { axis: int(axis) })];
};

const tile: KernelHandler = (k, c) => [
  c.b.node('Tile', [c.value(input(k, 'x')), c.b.int64(attr<number[]>(k, 'reps'))]),
];

const gather: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const indices = input(k, 'indices');
  if ((attr<number>(k, 'batchDims') ?? 0) !== 0)
    throw new ExportError('onnx export: gather with batchDims is not supported');
  const axis = normaliseAxis(attr<number>(k, 'axis'), x.shape.length);
  const mirrored = reflectGather(k, c, x, axis);
  if (mirrored !== null) return [mirrored];
  return [c.b.node('Gather', [c.value(x), c.value(indices)], { axis: int(axis) })];
};

const cast: KernelHandler = (k, c) => [
  c.b.node('Cast', [c.value(input(k, 'x'))], { to: int(onnxType(out(k).dtype)) }),
];

const batchMatMul: KernelHandler = (k, c) => {
  const resized = interpolationMatMul(k, c);
  if (resized !== null) return [resized];
  const side = (t: TracedTensor, transposed: boolean): string => {
    if (!transposed) return c.value(t);
    const rank = t.shape.length;
    const perm = t.shape.map((_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
    return c.b.node('Transpose', [c.value(t)], { perm: ints(perm) });
  };
  return [
    c.b.node('MatMul', [
      side(input(k, 'a'), attr<boolean>(k, 'transposeA')),
      side(input(k, 'b'), attr<boolean>(k, 'transposeB')),
    ]),
  ];
};

const spaceToBatch: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const [bh, bw] = attr<number[]>(k, 'blockShape') as [number, number];
  const paddings = attr<Array<[number, number]>>(k, 'paddings');
  const ch = x.shape[3]!;
  const padded = padNode(c, x, [[0, 0], paddings[0]!, paddings[1]!, [0, 0]], 'constant');
  const blocks = c.b.node('Reshape', [
    padded,
    c.vector([{ of: x, axis: 0 }, { of: out(k), axis: 1 }, bh, { of: out(k), axis: 2 }, bw, ch]),
  ]);
  const moved = c.b.node('Transpose', [blocks], { perm: ints([2, 4, 0, 1, 3, 5]) });
  return [c.b.node('Reshape', [moved, c.shapeOf(out(k))])];
};

const batchToSpace: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const [bh, bw] = attr<number[]>(k, 'blockShape') as [number, number];
  const crops = attr<Array<[number, number]>>(k, 'crops');
  const [, h, w, ch] = x.shape as [number, number, number, number];
  const blocks = c.b.node('Reshape', [
    c.value(x),
    c.vector([bh, bw, { of: out(k), axis: 0 }, { of: x, axis: 1 }, { of: x, axis: 2 }, ch]),
  ]);
  const moved = c.b.node('Transpose', [blocks], { perm: ints([2, 3, 0, 4, 1, 5]) });
  const full = c.b.node('Reshape', [
    moved,
    c.vector([{ of: out(k), axis: 0 }, { of: x, axis: 1, times: bh }, { of: x, axis: 2, times: bw }, ch]),
  ]);
  const [top, left] = [crops[0]![0], crops[1]![0]];
  const [, oh, ow] = out(k).shape as [number, number, number, number];
  if (top === 0 && left === 0 && oh === h * bh && ow === w * bw) return [full];
  return [
    c.b.node('Slice', [
      full,
      c.b.int64([top, left]),
      c.vector([
        { of: out(k), axis: 1, plus: top },
        { of: out(k), axis: 2, plus: left },
      ]),
      c.b.int64([1, 2]),
    ]),
  ];
};

function reduce(op: string): KernelHandler {
  return (k, c) => {
    const x = input(k, 'x');
    const axes = axesOf(k, 'reductionIndices' in k.attrs ? 'reductionIndices' : 'axis', x.shape.length);
    const keep = int(attr<boolean>(k, 'keepDims') ? 1 : 0);
    // ReduceSum takes its axes as an input since opset 13, the others since opset 18.
    if (op === 'ReduceSum' || c.opset >= 18)
      return [c.b.node(op, [c.value(x), c.b.int64(axes)], { keepdims: keep })];
    return [c.b.node(op, [c.value(x)], { axes: ints(axes), keepdims: keep })];
  };
}

const softmax: KernelHandler = (k, c) => {
  const x = input(k, 'logits');
  return [
    c.b.node('Softmax', [c.value(x)], { axis: int(normaliseAxis(attr<number>(k, 'dim'), x.shape.length)) }),
  ];
};

const step: KernelHandler = (k, c) => {
  const x = input(k, 'x');
  const alpha = attr<number>(k, 'alpha') ?? 0;
  const positive = c.b.node('Greater', [c.value(x), c.scalarOf(x.dtype, 0)]);
  if (alpha === 0) return [c.b.node('Cast', [positive], { to: int(onnxType(out(k).dtype)) })];
  return [c.b.node('Where', [positive, c.scalarOf(x.dtype, 1), c.scalarOf(x.dtype, alpha)])];
};

const addN: KernelHandler = (k, c) => [
  c.b.node(
    'Sum',
    k.inputs.map(([, t]) => c.value(t)),
  ),
];

const select: KernelHandler = (k, c) => [
  c.b.node('Where', [c.value(input(k, 'condition')), c.value(input(k, 't')), c.value(input(k, 'e'))]),
];

/** zerosLike / onesLike of a computed tensor: its shape is known, so a constant. */
function filled(value: number): KernelHandler {
  return (k, c) => {
    const o = out(k);
    const data =
      o.dtype === 'float32'
        ? Float32Array.of(value)
        : o.dtype === 'int32'
          ? Int32Array.of(value)
          : Uint8Array.of(value);
    return [
      c.b.node('ConstantOfShape', [c.shapeOf(o)], {
        value: { kind: 'tensor', value: { name: 'value', dataType: onnxType(o.dtype), dims: [1], data } },
      }),
    ];
  };
}

function resize(mode: 'linear' | 'nearest'): KernelHandler {
  return (k, c) => {
    const x = input(k, 'images');
    const alignCorners = attr<boolean>(k, 'alignCorners');
    const halfPixel = attr<boolean>(k, 'halfPixelCenters');
    const ch = x.shape[3]!;
    const transform = alignCorners
      ? 'align_corners'
      : halfPixel
        ? mode === 'linear'
          ? 'half_pixel'
          : 'tf_half_pixel_for_nn'
        : 'asymmetric';
    const attrs: Record<string, ReturnType<typeof str>> = {
      mode: str(mode),
      coordinate_transformation_mode: str(transform),
    };
    if (mode === 'nearest') attrs.nearest_mode = str(alignCorners ? 'round_prefer_ceil' : 'floor');
    const y = c.b.node(
      'Resize',
      [
        c.toNchw(c.value(x)),
        '',
        '',
        c.vector([{ of: x, axis: 0 }, ch, { of: out(k), axis: 1 }, { of: out(k), axis: 2 }]),
      ],
      attrs,
    );
    return [c.fromNchw(y)];
  };
}

const relu6 = unary((c, x) => c.b.node('Clip', [x, c.b.scalar(0), c.b.scalar(6)]));

export const KERNELS: Record<string, KernelHandler> = {
  ...Object.fromEntries(
    Object.entries(UNARY).map(([kernel, op]) => [kernel, unary((c, x) => c.b.node(op, [x]))]),
  ),
  ...Object.fromEntries(Object.entries(BINARY).map(([kernel, op]) => [kernel, binary(op)])),
  Relu6: relu6,
  Rsqrt: unary((c, x) => c.b.node('Reciprocal', [c.b.node('Sqrt', [x])])),
  Square: unary((c, x) => c.b.node('Mul', [x, x])),
  LeakyRelu: (k, c) =>
    unary((cc, x) => cc.b.node('LeakyRelu', [x], { alpha: float(attr<number>(k, 'alpha')) }))(k, c),
  Elu: unary((c, x) => c.b.node('Elu', [x])),
  Prelu: (k, c) => [c.b.node('PRelu', [c.value(input(k, 'x')), c.value(input(k, 'alpha'))])],
  Step: step,
  AddN: addN,
  Select: select,
  Softmax: softmax,
  Conv2D: conv('conv', false),
  FusedConv2D: conv('conv', true),
  DepthwiseConv2dNative: conv('depthwise', false),
  FusedDepthwiseConv2D: conv('depthwise', true),
  Conv2DBackpropInput: convTranspose,
  FusedBatchNorm: fusedBatchNorm,
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Reshape: reshape,
  ExpandDims: reshape,
  Squeeze: reshape,
  Identity: identity,
  Transpose: transpose,
  PadV2: padV2,
  MirrorPad: mirrorPad,
  Slice: slice,
  StridedSlice: stridedSlice,
  Concat: concat,
  Pack: pack,
  Tile: tile,
  Cast: cast,
  GatherV2: gather,
  BatchMatMul: batchMatMul,
  SpaceToBatchND: spaceToBatch,
  BatchToSpaceND: batchToSpace,
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Sum: reduce('ReduceSum'),
  Mean: reduce('ReduceMean'),
  Prod: reduce('ReduceProd'),
  ZerosLike: filled(0),
  OnesLike: filled(1),
  ResizeBilinear: resize('linear'),
  ResizeNearestNeighbor: resize('nearest'),
};
