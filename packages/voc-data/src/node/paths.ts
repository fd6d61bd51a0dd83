import { stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DatasetError } from '../errors.js';

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The VOC2012 folder for `root`, which may be that folder or the VOCdevkit folder above it. A
 * folder counts as VOC2012 when it holds `markerDir` (JPEGImages by default).
 */
export async function resolveDatasetRoot(root: string, markerDir = 'JPEGImages'): Promise<string> {
  const absolute = resolve(root);
  if (!(await isDirectory(absolute))) {
    throw new DatasetError(absolute, 'dataset root not found (or not a folder)');
  }
  if (await isDirectory(join(absolute, markerDir))) return absolute;
  const nested = join(absolute, 'VOC2012');
  if (await isDirectory(join(nested, markerDir))) return nested;
  throw new DatasetError(
    absolute,
    `not a VOC dataset root: neither ${markerDir}/ nor VOC2012/${markerDir}/ is inside (give the VOC2012 folder or the VOCdevkit folder above it)`,
  );
}

/**
 * `dir/<id><extension>`, refusing ids that would leave `dir` (`../`, absolute paths, NUL bytes).
 * `listFile` names the split file the id came from, for the error.
 */
export function fileForId(dir: string, id: string, extension: string, listFile: string): string {
  if (id.length === 0 || id.includes('\0') || isAbsolute(id) || /^[a-zA-Z]:/.test(id)) {
    throw new DatasetError(listFile, `id ${JSON.stringify(id)} is not a relative file name`);
  }
  const path = resolve(dir, `${id}${extension}`);
  const inside = relative(dir, path);
  if (
    inside.startsWith(`..${sep}`) ||
    inside === '..' ||
    isAbsolute(inside) ||
    id.split(/[\\/]/).includes('..')
  ) {
    throw new DatasetError(listFile, `id ${JSON.stringify(id)} escapes the dataset root (${dir})`);
  }
  return path;
}
