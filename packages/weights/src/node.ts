// Node: weights read from a path with positioned reads, so that only the parts of a file that a
// tensor needs are in memory, when it is converted (never the whole file twice).
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WeightsError } from './errors.js';
import { type ReadOptions, readWeightsFrom } from './read.js';
import type { ByteSource, WeightFile } from './types.js';

export { decodeNpy, encodeNpy, NpyError, type NpyArray } from './npy.js';

function fsProblem(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a folder, not a weights file';
  return `cannot be read (${code ?? String(e)})`;
}

/** A file opened for positioned reads; `close()` releases it. */
export function fileSource(path: string): ByteSource & { close(): void } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
  } catch (e) {
    throw new WeightsError(path, fsProblem(e));
  }
  const size = fstatSync(fd).size;
  let open = true;
  return {
    size,
    read(offset, length) {
      if (!open) throw new WeightsError(path, 'was closed before all its tensors were read');
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < out.byteLength) {
        const n = readSync(fd, out, done, out.byteLength - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return done === out.byteLength ? out : out.subarray(0, done);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * Reads a weights file by path, any format. safetensors, .pth and .caffemodel tensors are read
 * from the file when converted (the file stays open until `close()`, or until the process ends);
 * a TF.js model.json reads its shards from its folder.
 */
export async function readWeightsFile(
  path: string,
  options: ReadOptions = {},
): Promise<WeightFile & { close(): void }> {
  const full = resolve(path);
  try {
    if (statSync(full).isDirectory() && statSync(join(full, 'model.json')).isFile()) {
      return readWeightsFile(join(full, 'model.json'), options);
    }
  } catch (e) {
    throw new WeightsError(path, fsProblem(e));
  }
  const source = fileSource(full);
  const dir = dirname(full);
  const readShard =
    options.readShard ??
    (async (shard: string) => {
      if (shard.includes('..') || shard.startsWith('/')) {
        throw new WeightsError(path, `shard path ${JSON.stringify(shard)} leaves the model folder`);
      }
      try {
        return new Uint8Array(readFileSync(join(dir, shard)));
      } catch (e) {
        throw new WeightsError(join(dir, shard), fsProblem(e));
      }
    });
  try {
    const file = await readWeightsFrom(source, path, { readShard });
    if (file.format === 'keras' || file.format === 'tfjs') source.close();
    return { ...file, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}
