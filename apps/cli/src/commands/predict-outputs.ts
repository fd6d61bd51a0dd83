// Where predict (and eval --json) write: never over an input, never over a file this run did not
// write unless --overwrite, and always through a temporary name renamed into place.
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** A file's identity: its real path and its inode (a hard link is the same file under two names). */
async function identity(path: string): Promise<{ real: string; inode: string } | null> {
  try {
    const info = await stat(path);
    return { real: await realpath(path), inode: `${info.dev}:${info.ino}` };
  } catch {
    return null;
  }
}

/**
 * Checks every output path before anything runs: distinct, none of them an input (by path, link
 * or inode, whatever --overwrite says), and none an existing file unless `overwrite`. Throws a
 * one-line UsageError naming the file.
 */
export async function checkOutputs(
  inputs: readonly string[],
  outputs: ReadonlyArray<{ input: string; path: string }>,
  overwrite: boolean,
): Promise<void> {
  const byReal = new Map<string, string>();
  const byInode = new Map<string, string>();
  for (const input of inputs) {
    const id = await identity(input);
    if (!id) continue;
    byReal.set(id.real, input);
    byInode.set(id.inode, input);
  }
  const planned = new Map<string, string>();
  for (const { input, path } of outputs) {
    const key = resolve(path);
    const other = planned.get(key);
    if (other !== undefined && other !== input)
      throw new UsageError(`${other} and ${input} would both write ${path}`);
    planned.set(key, input);
    let exists = true;
    try {
      await lstat(path);
    } catch {
      exists = false;
    }
    if (!exists) continue;
    const id = await identity(path);
    const source = id ? (byReal.get(id.real) ?? byInode.get(id.inode)) : undefined;
    if (source !== undefined)
      throw new UsageError(`${path} would overwrite the input ${source}; choose another --out folder`);
    if (id && (await stat(path)).isDirectory())
      throw new UsageError(`${path} is a folder where an output file would go`);
    if (!overwrite)
      throw new UsageError(
        `${path} already exists and this run did not write it; pass --overwrite to replace it`,
      );
  }
}

/**
 * Writes a file through a temporary name in its folder, then puts it in place. Without
 * `overwrite` the final step is a hard link, which fails if the name appeared meanwhile (where
 * the file system has no hard links, an existence check and a rename).
 */
export async function writeAtomically(
  path: string,
  bytes: Uint8Array | string,
  overwrite = true,
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temp, bytes);
  try {
    if (overwrite) {
      await rename(temp, path);
      return;
    }
    try {
      await link(temp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST')
        throw new UsageError(
          `${path} appeared while predicting; not replaced (pass --overwrite to replace it)`,
        );
      if (await identity(path))
        throw new UsageError(
          `${path} appeared while predicting; not replaced (pass --overwrite to replace it)`,
        );
      await rename(temp, path);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
