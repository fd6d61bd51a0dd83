// The state of one trace-to-ONNX conversion: which ONNX value holds each traced tensor, constants
// as initializers, NCHW twins of NHWC values (so chains of convolutions need no transposes between
// them) and convolutions whose per-channel affine successors (bias, batch norm) fold into them.
import { SemsegError } from '@semseg/core';
import { DataType, type DataTypeCode, type GraphBuilder, type Initializer, ints } from '../ir.js';
import type { Trace, TracedDType, TracedTensor } from '../trace.js';

/** A model the exporter cannot translate (a kernel or geometry ONNX has no equivalent for). */
export class ExportError extends SemsegError {
  constructor(message: string) {
    super('E_ONNX_EXPORT', message);
  }
}

export function onnxType(dtype: TracedDType): DataTypeCode {
  return dtype === 'float32' ? DataType.FLOAT : dtype === 'int32' ? DataType.INT32 : DataType.BOOL;
}

/** A Conv node whose weights and bias this conversion owns and may still rescale. */
export interface FoldableConv {
  weight: Initializer;
  bias: Initializer;
  /** Output channels (the bias length). */
  channels: number;
  /** False while the weights may be shared with another conv (a model run at several scales): copy before changing. */
  ownsWeight: boolean;
  /** The Conv node's inputs (X, W, B), rewritten when the weights are copied. */
  node: { inputs: string[] };
}

/**
 * Thrown while translating a batch-generic graph when a shape cannot follow the batch (the
 * exporter then falls back to a Scan over samples).
 */
export class NotBatchGeneric extends Error {}

/**
 * Thrown while translating a size-generic graph when something cannot follow the input's height
 * and width (a constant whose shape or values depend on them): the exporter then writes a graph of
 * fixed size and records the reason in the metadata.
 */
export class NotSizeGeneric extends Error {}

/**
 * How one dim of a traced tensor follows the input size: when the input's `axis` (1 height,
 * 2 width) grows by the size step S, this dim grows by `step` (from a second trace at +S).
 */
export interface SpatialDim {
  /** 1: the height, 2: the width, 0: both (a flattened image, height x width: only a Reshape's -1). */
  axis: 0 | 1 | 2;
  step: number;
}

/** The size-generic part of a conversion: which dims follow height and width, and by how much. */
export interface SizeInfo {
  /** S: the traces differ by S along each axis, a multiple of the model's total stride. */
  step: number;
  /** Per traced tensor id: for each dim, how it follows the input size (null: it does not). */
  dims: Map<number, Array<SpatialDim | null>>;
  /** Scalar constants whose value follows the input size (a width a switch index is made with). */
  values: Map<number, SpatialDim>;
}

/** A dim of a traced tensor at run time, optionally times a factor plus an offset. */
export interface DimRef {
  of: TracedTensor;
  axis: number;
  times?: number;
  plus?: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));

/** Far past any axis: a Slice end that keeps the rest of a batch-sized axis. */
const TO_END = 2 ** 62;

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/** Constants larger than this with one repeated value become ConstantOfShape nodes. */
const UNIFORM_AS_NODE = 16;

export class Converter {
  readonly names = new Map<number, string>();
  /** NHWC value name -> the same data as NCHW. */
  readonly nchw = new Map<string, string>();
  readonly convs = new Map<number, FoldableConv>();
  private readonly consumers = new Map<number, number>();
  private readonly constants = new Map<number, string>();
  /** Converted constants (a filter in OIHW), by tensor id and transform. */
  readonly converted = new Map<string, Initializer>();

  /** Per traced tensor id: which dims scale with the batch (from a second trace at batch 2). */
  batchDims: Map<number, boolean[]> | null = null;
  /** The graph input's name, whose leading dim is the runtime batch. */
  inputName = '';
  private batchValue: string | null = null;
  /** Which dims follow the input's height and width (null: a graph of fixed size). */
  size: SizeInfo | null = null;
  private readonly sizeValues = new Map<string, string>();
  /** Least sizes some dims need at run time (a reflect pad needs more rows than it adds). */
  readonly minimums: Array<{ of: TracedTensor; axis: number; min: number }> = [];

  constructor(
    readonly b: GraphBuilder,
    readonly trace: Trace,
    readonly opset: number,
    readonly foldAffine: boolean,
  ) {
    for (const k of trace.kernels) {
      for (const [, t] of k.inputs) this.consumers.set(t.id, (this.consumers.get(t.id) ?? 0) + 1);
    }
    this.consumers.set(trace.output.id, (this.consumers.get(trace.output.id) ?? 0) + 1);
  }

  isDependent(t: TracedTensor): boolean {
    return this.trace.dependent.has(t.id);
  }

  consumerCount(t: TracedTensor): number {
    return this.consumers.get(t.id) ?? 0;
  }

  data(t: TracedTensor): Float32Array | Int32Array | Uint8Array {
    const d = this.trace.values.get(t.id);
    if (!d) throw new ExportError(`onnx export: no value recorded for constant tensor ${t.id}`);
    return d;
  }

  /** The ONNX value of a traced tensor: a computed value, or a constant made an initializer. */
  value(t: TracedTensor): string {
    if (this.isDependent(t)) {
      const name = this.names.get(t.id);
      if (name === undefined)
        throw new ExportError(`onnx export: tensor ${t.id} used before it was computed`);
      return name;
    }
    let name = this.constants.get(t.id);
    if (name === undefined) {
      name = this.constant(t);
      this.constants.set(t.id, name);
    }
    return name;
  }

  /** Dims of a traced tensor that scale with the batch (none in a fixed-batch export). */
  scaled(t: TracedTensor): boolean[] {
    return this.batchDims?.get(t.id) ?? t.shape.map(() => false);
  }

  /** The runtime batch as an int64 [1] (Shape of the input, first entry). */
  private batch(): string {
    this.batchValue ??= this.b.node('Slice', [
      this.b.node('Shape', [this.inputName]),
      this.b.int64([0]),
      this.b.int64([1]),
    ]);
    return this.batchValue;
  }

  /** How each dim of a traced tensor follows the input size (all null in a fixed-size export). */
  spatial(t: TracedTensor): Array<SpatialDim | null> {
    return this.size?.dims.get(t.id) ?? t.shape.map(() => null);
  }

  /** True when some dim of `t` follows the input's height or width. */
  isSpatial(t: TracedTensor): boolean {
    return this.spatial(t).some((d) => d !== null);
  }

  /** The input's height (axis 1) or width (axis 2) at run time, int64 [1]. */
  private inputDim(axis: 1 | 2): string {
    const key = `input:${axis}`;
    let name = this.sizeValues.get(key);
    if (name === undefined) {
      name = this.b.node('Slice', [
        this.b.node('Shape', [this.inputName]),
        this.b.int64([axis]),
        this.b.int64([axis + 1]),
      ]);
      this.sizeValues.set(key, name);
    }
    return name;
  }

  /**
   * The run-time value (int64 [1]) of a dim that is `traced` at the traced input size X0 and grows
   * by `step` per S of input: (step * X + traced * S - step * X0) / S, exact on the sizes the
   * graph serves (X congruent to X0 modulo S).
   */
  private spatialValue(traced: number, dim: { axis: 1 | 2; step: number }): string {
    const s = this.size!.step;
    const x0 = this.trace.input.shape[dim.axis]!;
    let [mul, add, div] = [dim.step, traced * s - dim.step * x0, s];
    const g = gcd(gcd(mul, div), add);
    [mul, add, div] = [mul / g, add / g, div / g];
    const key = `${dim.axis}:${mul}:${add}:${div}`;
    let name = this.sizeValues.get(key);
    if (name !== undefined) return name;
    name = this.inputDim(dim.axis);
    if (mul !== 1) name = this.b.node('Mul', [name, this.b.int64([mul])]);
    if (add !== 0) name = this.b.node('Add', [name, this.b.int64([add])]);
    if (div !== 1) name = this.b.node('Div', [name, this.b.int64([div])]);
    this.sizeValues.set(key, name);
    return name;
  }

  /**
   * An int64 vector: numbers are constants, a DimRef the run-time value of a traced tensor's dim
   * (times the batch where it follows the batch, a function of the input size where it follows
   * that), so shapes follow the input at run time.
   */
  vector(entries: ReadonlyArray<number | DimRef>): string {
    const parts: string[] = [];
    let run: number[] = [];
    for (const e of entries) {
      if (typeof e === 'number') {
        run.push(e);
        continue;
      }
      const times = e.times ?? 1;
      const plus = e.plus ?? 0;
      const traced = e.of.shape[e.axis]! * times + plus;
      const batch = this.scaled(e.of)[e.axis]!;
      const spatial = this.spatial(e.of)[e.axis] ?? null;
      if (!batch && spatial === null) {
        run.push(traced);
        continue;
      }
      if (spatial?.axis === 0)
        throw new NotSizeGeneric(
          `a shape that follows both height and width (a tensor of shape [${e.of.shape.join(', ')}])`,
        );
      if (run.length > 0) parts.push(this.b.int64(run));
      run = [];
      if (batch && spatial !== null) {
        if (plus !== 0)
          throw new NotSizeGeneric('an offset on a dim that follows both the batch and the size');
        const perSample = this.spatialValue(e.of.shape[e.axis]! * times, {
          axis: spatial.axis,
          step: spatial.step * times,
        });
        parts.push(this.b.node('Mul', [this.batch(), perSample]));
      } else if (batch) {
        if (plus !== 0) throw new NotBatchGeneric('an offset on a batch-sized dim');
        parts.push(traced === 1 ? this.batch() : this.b.node('Mul', [this.batch(), this.b.int64([traced])]));
      } else {
        parts.push(this.spatialValue(traced, { axis: spatial!.axis, step: spatial!.step * times }));
      }
    }
    if (run.length > 0) parts.push(this.b.int64(run));
    return parts.length === 1 ? parts[0]! : this.b.node('Concat', parts, { axis: { kind: 'int', value: 0 } });
  }

  /** The shape of a traced tensor, following the batch and the input size where the traces say so. */
  shapeOf(t: TracedTensor): string {
    return this.vector(t.shape.map((_, axis) => ({ of: t, axis })));
  }

  /**
   * A Reshape's target shape: shapeOf, except that one dim that follows both height and width (a
   * flattened image) is -1, for the Reshape to infer.
   */
  reshapeTarget(t: TracedTensor): string {
    const spatial = this.spatial(t);
    const flattened = spatial.filter((d) => d?.axis === 0).length;
    if (flattened > 1)
      throw new NotSizeGeneric(`a reshape to [${t.shape.join(', ')}] with two flattened images`);
    return this.vector(t.shape.map((_, axis) => (spatial[axis]?.axis === 0 ? -1 : { of: t, axis })));
  }

  /**
   * Slice ends (begin + the output's size): "to the end" on axes that follow the batch or the
   * input size and that the slice keeps whole; on size-following axes cut short (FCN's crops: an
   * offset, then the reference's size) the end follows the output's size.
   */
  sliceEnds(
    x: TracedTensor,
    begin: readonly number[],
    ends: readonly number[],
    result: TracedTensor,
  ): string {
    const scaled = this.scaled(x);
    const spatial = this.spatial(x);
    return this.vector(
      ends.map((e, i) => {
        if (scaled[i]) {
          if (begin[i] !== 0 || e !== x.shape[i])
            throw new NotBatchGeneric('a slice of part of the batch axis');
          return TO_END;
        }
        if (spatial[i] === null) return e;
        if (begin[i] === 0 && e === x.shape[i] && result.shape[i] === x.shape[i]) return TO_END;
        if (e !== begin[i]! + result.shape[i]!)
          throw new NotSizeGeneric('a strided slice along a size-following axis');
        return { of: result, axis: i, plus: begin[i]! };
      }),
    );
  }

  private constant(t: TracedTensor): string {
    const data = this.data(t);
    const type = onnxType(t.dtype);
    const follows = this.size?.values.get(t.id);
    if (follows && follows.axis !== 0 && t.dtype !== 'bool') {
      // A scalar that is a size (or an affine function of one): computed from the input's shape.
      const value = this.spatialValue(data[0]!, { axis: follows.axis, step: follows.step });
      const cast = this.b.node('Cast', [value], { to: { kind: 'int', value: type } });
      return this.b.node('Reshape', [cast, this.b.int64(t.shape)]);
    }
    const scaled = this.scaled(t).some((x) => x);
    if (scaled && !data.every((v) => v === data[0])) throw new NotBatchGeneric('a batch-sized constant');
    const spatial = this.isSpatial(t);
    if (spatial && !data.every((v) => v === data[0])) {
      const range = this.rangeConstant(t, data);
      if (range !== null) return range;
      throw new NotSizeGeneric(
        `a constant of shape [${t.shape.join(', ')}] that follows the input size (interpolation weights, pooling windows or switch indices)`,
      );
    }
    if (scaled || spatial || (data.length > UNIFORM_AS_NODE && data.every((v) => v === data[0]))) {
      const one =
        t.dtype === 'float32'
          ? Float32Array.of(data[0]!)
          : t.dtype === 'int32'
            ? Int32Array.of(data[0]!)
            : Uint8Array.of(data[0]!);
      return this.b.node('ConstantOfShape', [this.shapeOf(t)], {
        value: { kind: 'tensor', value: { name: 'value', dataType: type, dims: [1], data: one } },
      });
    }
    const copy = data.slice();
    return this.b.initializer('const', type, t.shape, copy);
  }

  /**
   * A float constant along one size-following axis (all other dims 1) that is an arithmetic
   * progression (pooling windows' origins, `o * stride - pad`) as an ONNX Range of the run-time
   * length; null for other values.
   */
  private rangeConstant(t: TracedTensor, data: ArrayLike<number>): string | null {
    const axes = t.shape.map((d, i) => (d === 1 ? -1 : i)).filter((i) => i >= 0);
    if (t.dtype !== 'float32' || axes.length !== 1 || data.length < 2) return null;
    const axis = axes[0]!;
    if (this.spatial(t)[axis] === null) return null;
    const [start, delta] = [data[0]!, data[1]! - data[0]!];
    for (let i = 0; i < data.length; i++) if (data[i] !== Math.fround(start + delta * i)) return null;
    const length = this.b.node('Cast', [this.b.node('Squeeze', [this.vector([{ of: t, axis }])])], {
      to: { kind: 'int', value: DataType.FLOAT },
    });
    const [first, step] = [this.b.scalar(start), this.b.scalar(delta)];
    const limit = this.b.node('Add', [this.b.node('Mul', [length, step]), first]);
    return this.b.node('Reshape', [this.b.node('Range', [first, limit, step]), this.shapeOf(t)]);
  }

  /** A constant scalar of the given dtype, for comparisons and Clip bounds. */
  scalarOf(dtype: TracedDType, value: number): string {
    if (dtype === 'float32') return this.b.scalar(value);
    if (dtype === 'int32') return this.b.initializer('scalar', DataType.INT32, [], Int32Array.of(value));
    throw new ExportError(`onnx export: no scalar of dtype ${dtype}`);
  }

  /** The NCHW form of a 4-D NHWC value (a Transpose unless one is known). */
  toNchw(nhwc: string): string {
    let name = this.nchw.get(nhwc);
    if (name === undefined) {
      name = this.b.node('Transpose', [nhwc], { perm: ints(TO_NCHW) });
      this.nchw.set(nhwc, name);
    }
    return name;
  }

  /** Records an NCHW result: its NHWC form is a Transpose (dropped later if nothing reads it). */
  fromNchw(nchwValue: string): string {
    const nhwc = this.b.node('Transpose', [nchwValue], { perm: ints(TO_NHWC) });
    this.nchw.set(nhwc, nchwValue);
    return nhwc;
  }

  /** Initializer for a converted constant, computed once per tensor and transform. */
  convertedConstant(t: TracedTensor, transform: string, make: () => Initializer): Initializer {
    const key = `${t.id}:${transform}`;
    let init = this.converted.get(key);
    if (init === undefined) {
      init = make();
      this.b.initializers.push(init);
      this.converted.set(key, init);
    }
    return init;
  }
}
