import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { UsageError } from '../errors.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp', '.gif', '.avif'];

/** Files named and the images inside folders named (not recursive), in a stable order. */
export async function collectImages(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(input);
    } catch {
      throw new UsageError(`${input}: no such image or folder`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(input))
        .filter((n) => IMAGE_EXTENSIONS.includes(extname(n).toLowerCase()))
        .sort();
      if (names.length === 0)
        throw new UsageError(`${input}: no images (${IMAGE_EXTENSIONS.join(' ')}) in this folder`);
      files.push(...names.map((n) => join(input, n)));
    } else {
      files.push(input);
    }
  }
  const byStem = new Map<string, string>();
  for (const file of files) {
    const stem = outputStem(file);
    const other = byStem.get(stem);
    if (other && other !== file)
      throw new UsageError(`${file} and ${other} would write the same outputs (${stem}.png)`);
    byStem.set(stem, file);
  }
  return [...new Set(files)];
}

/** The output name of an input image: its file name without the extension. */
export function outputStem(file: string): string {
  return basename(file, extname(file));
}
