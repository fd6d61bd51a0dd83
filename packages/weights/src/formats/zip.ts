// The entries of a zip archive (PyTorch's torch.save format) read through its central directory,
// so that each entry is read only when needed: stored entries straight from the source, deflated
// ones inflated by fflate.
import { inflateSync } from 'fflate';
import { WeightsError } from '../errors.js';
import type { ByteSource } from '../types.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, at: number): number {
  return u32(b, at) + u32(b, at + 4) * 2 ** 32;
}

export function looksLikeZip(head: Uint8Array): boolean {
  return head.byteLength >= 4 && u32(head, 0) === LOCAL;
}

/** Lists the entries of a zip archive; a file cut short is an error naming what is missing. */
export function zipEntries(source: ByteSource, file: string): Map<string, ZipEntry> {
  const tailLength = Math.min(source.size, 65_557);
  const tail = source.read(source.size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (u32(tail, i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new WeightsError(
      file,
      'truncated zip archive (no end-of-central-directory record): the file is cut short',
    );
  }
  let count = u16(tail, eocd + 10);
  let directorySize = u32(tail, eocd + 12);
  let directoryOffset = u32(tail, eocd + 16);
  if (eocd >= 20 && u32(tail, eocd - 20) === EOCD64_LOCATOR) {
    const record = source.read(u64(tail, eocd - 20 + 8), 56);
    count = u64(record, 32);
    directorySize = u64(record, 40);
    directoryOffset = u64(record, 48);
  }
  if (directoryOffset + directorySize > source.size) {
    throw new WeightsError(
      file,
      'truncated zip archive (the central directory lies past the end of the file)',
    );
  }
  const dir = source.read(directoryOffset, directorySize);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > dir.byteLength || u32(dir, at) !== CENTRAL) {
      throw new WeightsError(file, 'damaged zip archive (bad central directory entry)');
    }
    const nameLength = u16(dir, at + 28);
    const extraLength = u16(dir, at + 30);
    const commentLength = u16(dir, at + 32);
    const name = new TextDecoder().decode(dir.subarray(at + 46, at + 46 + nameLength));
    let compressedSize = u32(dir, at + 20);
    let size = u32(dir, at + 24);
    let localHeaderOffset = u32(dir, at + 42);
    // Zip64: the fields that overflowed are in the 0x0001 extra field, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = u16(dir, extra);
      const length = u16(dir, extra + 2);
      if (id === 1) {
        let p = extra + 4;
        if (size === 0xffffffff) {
          size = u64(dir, p);
          p += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(dir, p);
          p += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(dir, p);
      }
      extra += 4 + length;
    }
    entries.set(name, { name, method: u16(dir, at + 10), compressedSize, size, localHeaderOffset });
    at = extraEnd + commentLength;
  }
  return entries;
}

/** Where an entry's data starts in the archive. */
export function entryDataOffset(source: ByteSource, entry: ZipEntry, file: string): number {
  const local = source.read(entry.localHeaderOffset, 30);
  if (local.byteLength < 30 || u32(local, 0) !== LOCAL) {
    throw new WeightsError(file, `damaged zip archive (bad local header of '${entry.name}')`);
  }
  const start = entry.localHeaderOffset + 30 + u16(local, 26) + u16(local, 28);
  if (start + entry.compressedSize > source.size) {
    throw new WeightsError(file, `truncated: zip entry '${entry.name}' ends past the end of the file`);
  }
  return start;
}

/** An entry's bytes, `length` of them from `offset` (stored entries are read only where asked). */
export function readEntry(
  source: ByteSource,
  entry: ZipEntry,
  file: string,
  offset = 0,
  length = entry.size - offset,
): Uint8Array {
  const start = entryDataOffset(source, entry, file);
  if (offset + length > entry.size) {
    throw new WeightsError(
      file,
      `zip entry '${entry.name}' holds ${entry.size} bytes, ${offset + length} needed`,
    );
  }
  if (entry.method === 0) return source.read(start + offset, length);
  if (entry.method !== 8) {
    throw new WeightsError(
      file,
      `zip entry '${entry.name}' uses compression method ${entry.method} (only stored and deflate are read)`,
    );
  }
  const inflated = inflateSync(source.read(start, entry.compressedSize), { out: new Uint8Array(entry.size) });
  return inflated.subarray(offset, offset + length);
}
