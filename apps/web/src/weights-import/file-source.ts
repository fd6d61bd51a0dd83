// The bytes of a user's file for @semseg/weights' readers, with progress: files up to
// WHOLE_FILE_LIMIT are streamed into memory once; larger ones are read where the reader asks
// (synchronous positioned reads, which only a worker has), so a big file is never held whole.
import { type ByteSource, memorySource } from '@semseg/weights';

/** Files up to this size are read into memory in one pass. */
export const WHOLE_FILE_LIMIT = 256 * 1024 * 1024;

interface SyncReader {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

/** Streams a blob into one buffer, reporting the bytes read so far. */
export async function readWhole(blob: Blob, progress: (bytesRead: number) => void): Promise<Uint8Array> {
  const out = new Uint8Array(blob.size);
  const reader = blob.stream().getReader();
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value, offset);
    offset += value.byteLength;
    progress(offset);
  }
  return out;
}

/** Positioned reads of a blob (FileReaderSync), reporting the bytes read (capped at its size). */
export function blobSource(blob: Blob, progress: (bytesRead: number) => void): ByteSource {
  const Reader = (globalThis as { FileReaderSync?: new () => SyncReader }).FileReaderSync;
  if (!Reader) throw new Error('positioned reads of a file need a worker (FileReaderSync)');
  const reader = new Reader();
  let read = 0;
  return {
    size: blob.size,
    read(offset, length) {
      const bytes = new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length)));
      read = Math.min(blob.size, read + bytes.byteLength);
      progress(read);
      return bytes;
    },
  };
}

/** The source for a file: in memory when small enough, else positioned reads. */
export async function fileSource(blob: Blob, progress: (bytesRead: number) => void): Promise<ByteSource> {
  if (blob.size <= WHOLE_FILE_LIMIT) return memorySource(await readWhole(blob, progress));
  return blobSource(blob, progress);
}
