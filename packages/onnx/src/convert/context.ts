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

  /** An int64 shape: the traced one, with the dims marked as scaled multiplied by the runtime batch. */
  shape(dims: readonly number[], scaled: readonly boolean[]): string {
    if (!scaled.some((x) => x)) return this.b.int64(dims);
    const parts: string[] = [];
    let run: number[] = [];
    dims.forEach((d, i) => {
      if (!scaled[i]) {
        run.push(d);
        return;
      }
      if (run.length > 0) parts.push(this.b.int64(run));
      run = [];
      parts.push(d === 1 ? this.batch() : this.b.node('Mul', [this.batch(), this.b.int64([d])]));
    });
    if (run.length > 0) parts.push(this.b.int64(run));
    return this.b.node('Concat', parts, { axis: { kind: 'int', value: 0 } });
  }

  /** The shape of a traced tensor, batch-generic where the trace says so. */
  shapeOf(t: TracedTensor): string {
    return this.shape(t.shape, this.scaled(t));
  }

  /** Slice ends: begin + size, or "to the end" on batch-sized axes that the slice keeps whole. */
  sliceEnds(x: TracedTensor, begin: readonly number[], ends: readonly number[]): number[] {
    const scaled = this.scaled(x);
    return ends.map((e, i) => {
      if (!scaled[i]) return e;
      if (begin[i] !== 0 || e !== x.shape[i]) throw new NotBatchGeneric('a slice of part of the batch axis');
      return TO_END;
    });
  }

  private constant(t: TracedTensor): string {
    const data = this.data(t);
    const type = onnxType(t.dtype);
    const scaled = this.scaled(t).some((x) => x);
    if (scaled && !data.every((v) => v === data[0])) throw new NotBatchGeneric('a batch-sized constant');
    if (scaled || (data.length > UNIFORM_AS_NODE && data.every((v) => v === data[0]))) {
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
