import { vocColorMap } from './colormap.js';
import { DatasetError } from './errors.js';
import type { Rgb } from './types.js';

/** A dataset's own classes: names in label-index order and a colour for each. */
export interface ClassList {
  classes: string[];
  palette: Rgb[];
}

export const LABELMAP_FILE = 'labelmap.txt';

function checkCount(count: number, file: string): void {
  if (count < 1 || count > 255)
    throw new DatasetError(file, `a dataset needs 1..255 classes (255 is the ignore index), got ${count}`);
}

function checkUnique(classes: readonly string[], file: string): void {
  const seen = new Set<string>();
  for (const name of classes) {
    if (seen.has(name)) throw new DatasetError(file, `class '${name}' is listed twice`);
    seen.add(name);
  }
}

/**
 * Parses CVAT's (and datumaro's) VOC `labelmap.txt`: one `name:r,g,b:parts:actions` line per
 * class, in label-index order; `#` lines are comments. A class without a colour takes the VOC
 * colour map's colour of its index. `file` names the file in errors.
 */
export function parseLabelmap(text: string, file = LABELMAP_FILE): ClassList {
  const voc = vocColorMap(256);
  const classes: string[] = [];
  const palette: Rgb[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name = '', color = ''] = line.split(':');
    const where = `line ${i + 1}`;
    if (name.trim() === '') throw new DatasetError(file, `${where}: no class name in '${line}'`);
    let rgb: Rgb = voc[classes.length]!;
    if (color.trim() !== '') {
      const parts = color.split(',').map((p) => Number(p.trim()));
      if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
        throw new DatasetError(file, `${where}: colour '${color}' is not r,g,b with each 0..255`);
      rgb = parts as Rgb;
    }
    classes.push(name.trim());
    palette.push(rgb);
  }
  checkCount(classes.length, file);
  checkUnique(classes, file);
  return { classes, palette };
}

/**
 * Class names from `--classes`: a comma-separated list (`background,shirt,trousers`), colours from
 * the VOC colour map. `where` names the option in errors.
 */
export function parseClassNames(text: string, where = '--classes'): ClassList {
  const classes = text.split(',').map((c) => c.trim());
  if (classes.some((c) => c === '')) throw new DatasetError(where, `empty class name in '${text}'`);
  checkCount(classes.length, where);
  checkUnique(classes, where);
  const voc = vocColorMap(256);
  return { classes, palette: classes.map((_, i) => voc[i]!) };
}

/** A class list's palette completed to 256 entries with the VOC colour map (as datasets carry). */
export function fullPalette(list: ClassList): Rgb[] {
  const voc = vocColorMap(256);
  return [...list.palette, ...voc.slice(list.palette.length)];
}
