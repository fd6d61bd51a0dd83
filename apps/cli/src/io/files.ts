import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';

/** Reads a file the user named; a missing or unreadable file is a one-line usage error. */
export async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${path}: ${what} not found`);
    if (code === 'EISDIR') throw new UsageError(`${path}: ${what} is a folder, expected a file`);
    throw new UsageError(`${path}: ${what} cannot be read (${code ?? String(error)})`);
  }
}

/** Writes a file, creating its folder first. */
export async function writeOutput(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

/** Reads and parses a JSON file the user named. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readUserFile(path, what));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path}: ${what} is not valid JSON (${(error as Error).message})`);
  }
}
