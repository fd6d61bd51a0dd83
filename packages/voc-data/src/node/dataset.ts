import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { VOC_CLASSES } from '../classes.js';
import { vocColorMap } from '../colormap.js';
import { DatasetError } from '../errors.js';
import { type ClassList, LABELMAP_FILE, fullPalette, parseClassNames, parseLabelmap } from '../labelmap.js';
import { shardItems } from '../sampler.js';
import type { Rgb, ShardSpec } from '../types.js';
import { type LoadedSample, type SampleSource, loadSample } from './load-sample.js';
import { fileForId, isFile, resolveDatasetRoot } from './paths.js';

/** Where a dataset in the VOC layout keeps its files, relative to its root. */
export interface DatasetLayout {
  imageDir: string;
  labelDir: string;
  splitDir: string;
  imageExtension: string;
  labelExtension: string;
}

export const VOC_LAYOUT: DatasetLayout = {
  imageDir: 'JPEGImages',
  labelDir: 'SegmentationClass',
  splitDir: 'ImageSets/Segmentation',
  imageExtension: '.jpg',
  labelExtension: '.png',
};

export const SBD_LAYOUT: DatasetLayout = { ...VOC_LAYOUT, labelDir: 'SegmentationClassAug' };

export interface OpenDatasetOptions extends Partial<DatasetLayout> {
  /** Split name: the list file is `<splitDir>/<split>.txt` (e.g. train, val, trainval, train_aug). */
  split: string;
  /**
   * Class names in index order (default: the root's `labelmap.txt`, CVAT's VOC export, when there
   * is one, else the 21 VOC classes).
   */
  classes?: readonly string[];
  /** Colour per class for display (default: the VOC colour map). */
  palette?: readonly Rgb[];
  /** Accept 8-bit greyscale label PNGs as well as palette ones (default: false; true for SBD). */
  allowGrayLabels?: boolean;
  /** Keep only this shard of the ids (see `shardItems`). */
  shard?: ShardSpec;
}

/** A split of a dataset in the VOC layout: its ids and how to read each sample. */
export interface SegmentationDataset {
  /** The resolved dataset folder (the VOC2012 folder when a VOCdevkit folder was given). */
  readonly root: string;
  readonly split: string;
  readonly splitFile: string;
  readonly ids: readonly string[];
  readonly classes: readonly string[];
  readonly palette: readonly Rgb[];
  readonly layout: DatasetLayout;
  readonly allowGrayLabels: boolean;
  /** The files of one id (checked not to leave the root). */
  source(id: string): SampleSource;
  /** Reads sample `index` (a position in `ids`) or the sample with id `id`. */
  read(indexOrId: number | string): Promise<LoadedSample>;
}

/**
 * Parses a split list: one id per line, or DeepLab-style `/JPEGImages/<id>.jpg /Segmentation.../<id>.png`
 * lines, whose id is the image file's name. Blank lines and surrounding spaces are ignored.
 */
export function parseSplitList(text: string): string[] {
  const ids: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0) continue;
    const first = line.split(/\s+/)[0];
    const isPathPair = /\s/.test(line) && first.includes('/');
    ids.push(isPathPair ? basename(first, extname(first)) : first);
  }
  return ids;
}

async function findSplitFile(root: string, layout: DatasetLayout, split: string): Promise<string> {
  const candidates = [join(root, layout.splitDir, `${split}.txt`), join(root, `${split}.txt`)];
  for (const file of candidates) if (await isFile(file)) return file;
  throw new DatasetError(
    candidates[0],
    `split file not found (split "${split}"; also looked for ${candidates[1]})`,
  );
}

/** Opens a split of any dataset in the VOC layout, with its own class list and folders. */
export async function openSegmentationDataset(
  root: string,
  options: OpenDatasetOptions,
): Promise<SegmentationDataset> {
  const layout: DatasetLayout = {
    imageDir: options.imageDir ?? VOC_LAYOUT.imageDir,
    labelDir: options.labelDir ?? VOC_LAYOUT.labelDir,
    splitDir: options.splitDir ?? VOC_LAYOUT.splitDir,
    imageExtension: options.imageExtension ?? VOC_LAYOUT.imageExtension,
    labelExtension: options.labelExtension ?? VOC_LAYOUT.labelExtension,
  };
  const resolvedRoot = await resolveDatasetRoot(root, layout.imageDir);
  const labelmap = options.classes ? null : await readLabelmap(resolvedRoot);
  const classes = options.classes ?? labelmap?.classes ?? VOC_CLASSES;
  if (classes.length < 1 || classes.length > 255) {
    throw new RangeError(`a dataset needs 1..255 classes (255 is the ignore index), got ${classes.length}`);
  }
  const palette = options.palette ?? (labelmap ? fullPalette(labelmap) : vocColorMap(256));
  const allowGrayLabels = options.allowGrayLabels ?? false;
  const splitFile = await findSplitFile(resolvedRoot, layout, options.split);
  const text = await readFile(splitFile, 'utf8');
  const imageDir = join(resolvedRoot, layout.imageDir);
  const labelDir = join(resolvedRoot, layout.labelDir);
  let ids = parseSplitList(text);
  // Refuse the whole split up front if any id would leave the root.
  for (const id of ids) fileForId(imageDir, id, layout.imageExtension, splitFile);
  if (options.shard) ids = shardItems(ids, options.shard);

  const source = (id: string): SampleSource => ({
    id,
    imagePath: fileForId(imageDir, id, layout.imageExtension, splitFile),
    labelPath: fileForId(labelDir, id, layout.labelExtension, splitFile),
    numClasses: classes.length,
    allowGrayLabels,
    listFile: splitFile,
  });

  return {
    root: resolvedRoot,
    split: options.split,
    splitFile,
    ids,
    classes,
    palette,
    layout,
    allowGrayLabels,
    source,
    read(indexOrId) {
      const id = typeof indexOrId === 'number' ? ids[indexOrId] : indexOrId;
      if (id === undefined) {
        throw new RangeError(`sample index ${indexOrId} is outside 0..${ids.length - 1} of ${splitFile}`);
      }
      return loadSample(source(id));
    },
  };
}

/** The classes of `<root>/labelmap.txt` (CVAT's VOC export), or null when there is none. */
export async function readLabelmap(root: string): Promise<ClassList | null> {
  const file = join(root, LABELMAP_FILE);
  if (!(await isFile(file))) return null;
  return parseLabelmap(await readFile(file, 'utf8'), file);
}

/**
 * `--classes <file or comma list>`: a labelmap.txt-style file (`name:r,g,b::` lines), a file of
 * one name per line, or names separated by commas. The palette is completed to 256 colours.
 */
export async function readClassesOption(spec: string): Promise<{ classes: string[]; palette: Rgb[] }> {
  let list: ClassList;
  if (await isFile(spec)) {
    const text = await readFile(spec, 'utf8');
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    list = lines.some((l) => l.includes(':'))
      ? parseLabelmap(text, spec)
      : parseClassNames(lines.map((l) => l.trim()).join(','), spec);
  } else {
    if (!spec.includes(','))
      throw new DatasetError(spec, 'no such class file, and not a comma-separated list of classes');
    list = parseClassNames(spec);
  }
  return { classes: list.classes, palette: fullPalette(list) };
}

/** PASCAL VOC 2012 (`SegmentationClass`, palette PNGs), split train / val / trainval. */
export function openVocDataset(
  root: string,
  options: Omit<OpenDatasetOptions, 'split'> & { split?: string } = {},
): Promise<SegmentationDataset> {
  return openSegmentationDataset(root, { ...options, split: options.split ?? 'train' });
}

/**
 * The augmented set (SBD, 10,582 train ids): `SegmentationClassAug/<id>.png` listed by
 * `train_aug.txt` (looked for in ImageSets/Segmentation/ and the root). Greyscale label PNGs are
 * accepted, as the common SegmentationClassAug release is greyscale.
 */
export function openSbdDataset(
  root: string,
  options: Omit<OpenDatasetOptions, 'split'> & { split?: string } = {},
): Promise<SegmentationDataset> {
  return openSegmentationDataset(root, {
    labelDir: SBD_LAYOUT.labelDir,
    allowGrayLabels: true,
    ...options,
    split: options.split ?? 'train_aug',
  });
}
