import {
  BLOB_DATA,
  BLOB_DIFF,
  BLOB_DOUBLE_DATA,
  BLOB_DOUBLE_DIFF,
  BlobProto,
  LAYER_BLOBS,
  LayerParameter,
  NET_LAYER,
  NET_LAYERS_V1,
  V0LayerParameter,
  V0_BLOBS,
  V1LayerParameter,
  V1_BLOBS,
  V1_TYPES,
  V1_V0_LAYER,
  protobuf,
} from '../caffe/schema.js';
// Caffe .caffemodel files: a protobuf NetParameter whose layers (V2 `layer`, V1 `layers`, or a V1
// layer wrapping a V0 one) carry their parameters as BlobProtos. The reader walks the message
// framing with protobufjs' Reader, decodes each layer's and blob's small fields with the schema,
// and only notes where each blob's packed values lie: they are read when a tensor is asked for,
// straight from the source (a file in Node), so that a large model is never held twice.
import { DTYPE_BYTES, contiguousToFloat32 } from '../dtype.js';
import { WeightsError } from '../errors.js';
import type { ByteSource, ForeignTensor, WeightFile } from '../types.js';

interface Field {
  id: number;
  wireType: number;
  /** The whole field, tag included. */
  start: number;
  /** Where a length-delimited value starts. */
  valueStart: number;
  end: number;
}

/** The fields of the message in [start, end): framing only, through protobufjs' Reader. */
function* fields(
  source: ByteSource,
  start: number,
  end: number,
  file: string,
  what: string,
): Generator<Field> {
  let at = start;
  while (at < end) {
    const window = source.read(at, Math.min(20, end - at));
    const reader = protobuf.Reader.create(window);
    let tag: number;
    let valueStart: number;
    let fieldEnd: number;
    try {
      tag = reader.uint32();
      const wireType = tag & 7;
      if (wireType === 2) {
        const length = reader.uint32();
        valueStart = at + reader.pos;
        fieldEnd = valueStart + length;
      } else {
        reader.skipType(wireType);
        valueStart = at + reader.pos;
        fieldEnd = valueStart;
      }
    } catch {
      throw new WeightsError(
        file,
        `truncated or damaged caffemodel: ${what} ends inside a field at byte ${at}`,
      );
    }
    if (fieldEnd > end || tag >>> 3 === 0) {
      const layer = what === 'the net' ? layerNameAt(source, valueStart, end, tag >>> 3) : null;
      const which = layer !== null ? `layer '${layer}'` : `${what} field ${tag >>> 3}`;
      throw new WeightsError(
        file,
        `truncated caffemodel: ${which} at byte ${at} needs ${fieldEnd - at} bytes, ${end - at} remain`,
      );
    }
    yield { id: tag >>> 3, wireType: tag & 7, start: at, valueStart, end: fieldEnd };
    at = fieldEnd;
  }
}

/** The name of a layer cut short, from what is left of it (V2 `name` = 1, V1 `name` = 4). */
function layerNameAt(source: ByteSource, start: number, end: number, netField: number): string | null {
  const nameField = netField === NET_LAYER ? 1 : 4;
  const reader = protobuf.Reader.create(source.read(start, Math.min(end - start, 1 << 16)));
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === nameField && (tag & 7) === 2) return reader.string();
      reader.skipType(tag & 7);
    }
  } catch {
    // The name lies past the cut.
  }
  return null;
}

/** Decodes the small fields of a message (all but `skip`) with a schema type. */
function decodeSmall<T>(type: protobuf.Type, source: ByteSource, parts: Field[]): T {
  const total = parts.reduce((n, f) => n + f.end - f.start, 0);
  const buffer = new Uint8Array(total);
  let at = 0;
  for (const f of parts) {
    buffer.set(source.read(f.start, f.end - f.start), at);
    at += f.end - f.start;
  }
  return type.toObject(type.decode(buffer), { longs: Number, defaults: true }) as T;
}

interface BlobHeader {
  shape?: { dim: number[] };
  num: number;
  channels: number;
  height: number;
  width: number;
}

interface LayerHeader {
  name: string;
  type: string | number;
}

function blobTensor(source: ByteSource, blob: Field, file: string, name: string): ForeignTensor {
  const small: Field[] = [];
  let values: { field: Field; dtype: 'F32' | 'F64' } | undefined;
  for (const f of fields(source, blob.valueStart, blob.end, file, `blob '${name}'`)) {
    if (f.id === BLOB_DATA || f.id === BLOB_DOUBLE_DATA) {
      if (f.wireType !== 2) {
        throw new WeightsError(file, `blob '${name}' stores its values unpacked, which Caffe never writes`);
      }
      const dtype = f.id === BLOB_DATA ? 'F32' : 'F64';
      if (!values || f.end - f.valueStart > values.field.end - values.field.valueStart)
        values = { field: f, dtype };
    } else if (f.id !== BLOB_DIFF && f.id !== BLOB_DOUBLE_DIFF) small.push(f);
  }
  const header = decodeSmall<BlobHeader>(BlobProto, source, small);
  const shape =
    header.shape && header.shape.dim.length > 0
      ? header.shape.dim.map(Number)
      : [header.num, header.channels, header.height, header.width];
  const count = shape.reduce((a, b) => a * b, 1);
  const dtype = values?.dtype ?? 'F32';
  const bytes = values ? values.field.end - values.field.valueStart : 0;
  if (bytes !== count * DTYPE_BYTES[dtype]!) {
    throw new WeightsError(
      file,
      `blob '${name}' has shape [${shape}] (${count} values) but holds ${bytes / DTYPE_BYTES[dtype]!} values`,
    );
  }
  const start = values?.field.valueStart ?? 0;
  return {
    dtype,
    shape,
    toFloat32: () => contiguousToFloat32(source.read(start, bytes), dtype, count),
    readRange: (first, n) => {
      const width = DTYPE_BYTES[dtype]!;
      return contiguousToFloat32(source.read(start + first * width, n * width), dtype, n);
    },
  };
}

/** A caffemodel's first bytes: a NetParameter field that can start one (name, layers, input, layer). */
export function looksLikeCaffemodel(head: Uint8Array): boolean {
  const first = head[0];
  return (
    first === 0x0a ||
    first === 0x12 ||
    first === 0x1a ||
    first === 0x20 ||
    (first === 0xa2 && head[1] === 0x06)
  );
}

/** Reads the parameter blobs of a caffemodel as `<layer name>/<blob index>` (Caffe's blob order). */
export function readCaffemodel(source: ByteSource, file: string): WeightFile {
  const tensors = new Map<string, ForeignTensor>();
  const layerTypes = new Map<string, string>();
  let layerCount = 0;
  const addLayer = (header: LayerHeader, blobs: Field[]): void => {
    const name = header.name;
    const type =
      typeof header.type === 'number' ? (V1_TYPES[header.type] ?? `V1 type ${header.type}`) : header.type;
    layerTypes.set(name, type);
    blobs.forEach((blob, i) => {
      tensors.set(`${name}/${i}`, blobTensor(source, blob, file, `${name}/${i}`));
    });
  };
  for (const top of fields(source, 0, source.size, file, 'the net')) {
    if (top.wireType !== 2 || (top.id !== NET_LAYER && top.id !== NET_LAYERS_V1)) continue;
    layerCount++;
    const v2 = top.id === NET_LAYER;
    const small: Field[] = [];
    const blobs: Field[] = [];
    let v0: Field | undefined;
    for (const f of fields(source, top.valueStart, top.end, file, `layer #${layerCount}`)) {
      if (f.id === (v2 ? LAYER_BLOBS : V1_BLOBS) && f.wireType === 2) blobs.push(f);
      else if (!v2 && f.id === V1_V0_LAYER && f.wireType === 2) v0 = f;
      else small.push(f);
    }
    let header = decodeSmall<LayerHeader>(v2 ? LayerParameter : V1LayerParameter, source, small);
    if (v0 && blobs.length === 0) {
      // A V0 layer inside a V1 one (the oldest caffemodels): its own name, type and blobs.
      const v0small: Field[] = [];
      for (const f of fields(source, v0.valueStart, v0.end, file, `layer #${layerCount}`)) {
        if (f.id === V0_BLOBS && f.wireType === 2) blobs.push(f);
        else v0small.push(f);
      }
      const old = decodeSmall<LayerHeader>(V0LayerParameter, source, v0small);
      header = { name: header.name || old.name, type: old.type };
    }
    addLayer(header, blobs);
  }
  if (layerCount === 0) {
    throw new WeightsError(
      file,
      'is no caffemodel (a NetParameter without layers), or not a weights file at all',
    );
  }
  return { file, format: 'caffe', tensors, layerTypes };
}
