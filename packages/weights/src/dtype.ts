// Element types of foreign files and their conversion to float32.

/** Bytes per element, by safetensors' dtype names (PyTorch's storages map onto these). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const HALF_TABLE = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) table[h] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) table[h] = fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else table[h] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return table;
})();

/** IEEE half to float (exact: every half is a float). */
export function halfToFloat(h: number): number {
  return HALF_TABLE[h & 0xffff]!;
}

/**
 * Reads `count` elements of `dtype` (little-endian) from `bytes` at element positions given by
 * `index(i)` relative to the start of `bytes`, as float32.
 */
export function decodeElements(
  bytes: Uint8Array,
  dtype: string,
  count: number,
  index: (i: number) => number,
): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const shared = new Uint32Array(1);
  const asFloat = new Float32Array(shared.buffer);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(index(i) * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(index(i) * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = HALF_TABLE[view.getUint16(index(i) * 2, true)]!;
      break;
    case 'BF16':
      for (let i = 0; i < count; i++) {
        shared[0] = view.getUint16(index(i) * 2, true) << 16;
        out[i] = asFloat[0]!;
      }
      break;
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(index(i) * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(index(i) * 4, true);
      break;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(index(i) * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(index(i));
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(index(i));
      break;
    default:
      throw new RangeError(`unsupported dtype ${dtype}`);
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Contiguous float32 bytes to a Float32Array: one copy (aligned or not). */
export function float32Copy(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
  else return decodeElements(bytes, 'F32', count, (i) => i);
  return out;
}

/** Contiguous elements of any supported dtype to float32. */
export function contiguousToFloat32(bytes: Uint8Array, dtype: string, count: number): Float32Array {
  return dtype === 'F32' ? float32Copy(bytes, count) : decodeElements(bytes, dtype, count, (i) => i);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
