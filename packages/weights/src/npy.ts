// NumPy .npy files (format versions 1.0-3.0) holding float32, little-endian, C order: the
// probabilities and unaries the CRF command reads and the marginals it writes.

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A .npy file that this reader cannot use; the message names the file and the fix. */
export class NpyError extends Error {
  readonly code = 'E_NPY';
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'NpyError';
    this.file = file;
  }
}

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parses the Python-literal header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. */
function parseHeader(text: string, file: string): Header {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  const order = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || order === undefined || shapeText === undefined) {
    throw new NpyError(file, 'the .npy header lacks descr, fortran_order or shape');
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw new NpyError(file, `bad dimension '${s}' in the .npy shape`);
      return Number.parseInt(s, 10);
    });
  return { descr, fortranOrder: order === 'True', shape };
}

/** Reads a float32 little-endian C-order array from the bytes of a .npy file. */
export function decodeNpy(bytes: Uint8Array, file = 'array.npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(file, 'not a .npy file (the \\x93NUMPY magic is missing)');
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3)
    throw new NpyError(file, `unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw new NpyError(file, 'truncated .npy header');
  const decoder = new TextDecoder(major === 3 ? 'utf-8' : 'latin1');
  const header = parseHeader(decoder.decode(bytes.subarray(headerStart, dataStart)), file);
  if (header.descr !== '<f4') {
    const hint = header.descr === '>f4' ? 'big-endian float32' : `dtype '${header.descr}'`;
    throw new NpyError(file, `${hint} is not supported; save little-endian float32 (arr.astype('<f4'))`);
  }
  if (header.fortranOrder) {
    throw new NpyError(file, 'Fortran-order arrays are not supported; save np.ascontiguousarray(arr)');
  }
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * 4;
  const available = bytes.length - dataStart;
  if (available !== expected) {
    throw new NpyError(
      file,
      `shape (${header.shape.join(', ')}) needs ${expected} data bytes, the file holds ${available}`,
    );
  }
  const payload = bytes.subarray(dataStart, dataStart + expected);
  // Float32Array needs 4-byte alignment; a copy also detaches the array from the file buffer.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(payload);
  if (!littleEndianHost()) throw new NpyError(file, 'big-endian hosts are not supported');
  return { shape: header.shape, data };
}

function littleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** Encodes a float32 array as a version 1.0 .npy file (little-endian, C order). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(`encodeNpy: shape (${shape.join(', ')}) does not hold ${data.length} values`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so that the data starts at a multiple of 64 bytes; the header ends in \n.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
