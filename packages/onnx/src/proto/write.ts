// Serialises the in-memory graph as an ONNX ModelProto with protobufjs and the embedded onnx.proto.
import protobuf from 'protobufjs';
import type { AttributeValue, Graph, Initializer, ValueInfo } from '../ir.js';
import { ONNX_PROTO } from './onnx-proto.js';

/** ONNX IR version of onnx.proto 1.12 (opset 17). */
export const IR_VERSION = 8;

let modelType: protobuf.Type | null = null;

function ModelProto(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

function tensorMessage(t: Initializer): Record<string, unknown> {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name: t.name, data_type: t.dataType, dims: t.dims, raw_data: bytes };
}

function valueInfoMessage(v: ValueInfo): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: v.dataType,
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function attributeMessage(name: string, a: AttributeValue): Record<string, unknown> {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: tensorMessage(a.value) };
    case 'graph':
      return { name, type: AttributeType.GRAPH, g: graphMessage(a.value) };
  }
}

function graphMessage(g: Graph): Record<string, unknown> {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      op_type: n.opType,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attributes).map(([k, v]) => attributeMessage(k, v)),
    })),
    initializer: g.initializers.map(tensorMessage),
    input: g.inputs.map(valueInfoMessage),
    output: g.outputs.map(valueInfoMessage),
  };
}

export interface ModelInfo {
  opset: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  metadata: Record<string, string>;
}

export function encodeModel(graph: Graph, info: ModelInfo): Uint8Array {
  const type = ModelProto();
  const message = type.fromObject({
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: info.opset }],
    producer_name: info.producerName,
    producer_version: info.producerVersion,
    doc_string: info.docString,
    graph: graphMessage(graph),
    metadata_props: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
  });
  return type.encode(message).finish();
}
