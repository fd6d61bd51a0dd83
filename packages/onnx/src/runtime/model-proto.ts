import { InputError } from '@semseg/core';

/** Reads a protobuf varint at `offset`; returns the value and the next offset. */
function varint(bytes: Uint8Array, offset: number, source: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new InputError(`${source}: not an ONNX model (a truncated protobuf varint at byte ${offset})`);
}

const decoder = new TextDecoder();

/** The key and value of one StringStringEntryProto (key = 1, value = 2). */
function entry(bytes: Uint8Array, source: string): [string, string] {
  let key = '';
  let value = '';
  let at = 0;
  while (at < bytes.length) {
    const [tag, next] = varint(bytes, at, source);
    const [length, start] = varint(bytes, next, source);
    if ((tag & 7) !== 2) throw new InputError(`${source}: malformed metadata entry`);
    const text = decoder.decode(bytes.subarray(start, start + length));
    if (tag >> 3 === 1) key = text;
    else if (tag >> 3 === 2) value = text;
    at = start + length;
  }
  return [key, value];
}

/**
 * The metadata_props (field 14) of an ONNX ModelProto, read by walking its top-level fields and
 * skipping the rest (the graph and its weights are not decoded or copied).
 */
export function readMetadataProps(bytes: Uint8Array, source: string): Record<string, string> {
  const props: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const [tag, next] = varint(bytes, at, source);
    const field = tag >> 3;
    switch (tag & 7) {
      case 0:
        at = varint(bytes, next, source)[1];
        break;
      case 1:
        at = next + 8;
        break;
      case 5:
        at = next + 4;
        break;
      case 2: {
        const [length, start] = varint(bytes, next, source);
        if (start + length > bytes.length)
          throw new InputError(`${source}: not an ONNX model (field ${field} runs past the end of the file)`);
        if (field === 14) {
          const [key, value] = entry(bytes.subarray(start, start + length), source);
          props[key] = value;
        }
        at = start + length;
        break;
      }
      default:
        throw new InputError(`${source}: not an ONNX model (wire type ${tag & 7} at byte ${at})`);
    }
  }
  return props;
}
