// A small in-memory ONNX graph: nodes, initializers and value infos, serialised by proto/write.ts.

/** ONNX TensorProto.DataType values the exporter writes. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Initializer }
  | { kind: 'graph'; value: Graph };

export interface Node {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface Initializer {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** A graph input or output: its element type and dims (a string names a symbolic dimension). */
export interface ValueInfo {
  name: string;
  dataType: DataTypeCode;
  dims: Array<number | string>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Initializer[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const ints = (value: number[]): AttributeValue => ({ kind: 'ints', value });
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
export const str = (value: string): AttributeValue => ({ kind: 'string', value });

/** Appends nodes and initializers with unique names; small int64 constants are shared. */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private counter = 0;
  private readonly int64Cache = new Map<string, string>();

  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputs: string[] = [this.fresh(opType.toLowerCase())],
  ): string {
    this.nodes.push({ opType, name: this.fresh(`n_${opType}`), inputs, outputs, attributes });
    return outputs[0]!;
  }

  initializer(prefix: string, dataType: DataTypeCode, dims: number[], data: Initializer['data']): string {
    const name = this.fresh(prefix);
    this.initializers.push({ name, dataType, dims, data });
    return name;
  }

  float(prefix: string, dims: number[], data: Float32Array): string {
    return this.initializer(prefix, DataType.FLOAT, dims, data);
  }

  /** A 1-D int64 constant (shapes, pads, axes), shared between the nodes that use the same values. */
  int64(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.int64Cache.get(key);
    if (name === undefined) {
      name = this.initializer('i64', DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt)));
      this.int64Cache.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.float('scalar', [], Float32Array.of(value));
  }
}
