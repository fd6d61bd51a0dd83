// Reading a user's weights file for the import worker: small files streamed into memory with
// progress; larger ones by positioned reads (FileReaderSync, faked here as a worker has it).
import { memorySource, readWeightsFrom, writeSafetensors } from '@semseg/weights';
import { afterEach, describe, expect, it } from 'vitest';
import { blobSource, readWhole } from '../src/weights-import/file-source.js';

const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251);

afterEach(() => {
  (globalThis as { FileReaderSync?: unknown }).FileReaderSync = undefined;
});

describe('file sources', () => {
  it('streams a blob into memory, reporting the bytes read up to its size', async () => {
    const seen: number[] = [];
    const out = await readWhole(new Blob([bytes]), (n) => seen.push(n));
    expect(Buffer.from(out).equals(Buffer.from(bytes))).toBe(true);
    expect(seen.at(-1)).toBe(bytes.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('reads a safetensors file by positioned reads as the weights reader asks', async () => {
    const file = writeSafetensors(
      new Map([['w', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }]]),
    );
    // FileReaderSync over a Blob, synchronously: the bytes of the slice asked for.
    const whole = memorySource(file);
    (globalThis as { FileReaderSync?: unknown }).FileReaderSync = class {
      readAsArrayBuffer(blob: Blob & { range?: [number, number] }): ArrayBuffer {
        const [start, end] = blob.range!;
        return whole.read(start, end - start).slice().buffer;
      }
    };
    const blob = {
      size: file.byteLength,
      slice: (start: number, end: number) =>
        Object.assign(new Blob(), { range: [start, Math.min(end, file.byteLength)] }),
    } as unknown as Blob;
    let read = 0;
    const weights = await readWeightsFrom(
      blobSource(blob, (n) => {
        read = n;
      }),
      'w.safetensors',
    );
    expect([...weights.tensors.get('w')!.toFloat32()]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(file.byteLength);
  });

  it('says that positioned reads need a worker', () => {
    expect(() => blobSource(new Blob([bytes]), () => undefined)).toThrow(/need a worker \(FileReaderSync\)/);
  });
});
