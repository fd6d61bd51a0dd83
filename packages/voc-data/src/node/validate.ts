import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VOC_CLASSES } from '../classes.js';
import { DatasetError } from '../errors.js';
import { type DatasetLayout, SBD_LAYOUT, VOC_LAYOUT, parseSplitList } from './dataset.js';
import { readImageFile, readLabelFile } from './decode.js';
import { fileForId, isDirectory, resolveDatasetRoot } from './paths.js';

export interface DatasetProblem {
  /** The file or folder at fault. */
  file: string;
  problem: string;
  /** The sample id, when the problem belongs to one. */
  id?: string;
}

export interface ValidationReport {
  /** The resolved dataset folder, when one was found. */
  root: string | undefined;
  ok: boolean;
  splits: Record<string, number>;
  /** Image/label pairs checked (an id listed by VOC and SBD splits is checked against both label folders). */
  checked: number;
  problems: DatasetProblem[];
}

export interface ValidateOptions extends Partial<DatasetLayout> {
  /** Splits to check (default: every `*.txt` in the split folder). */
  splits?: string[];
  classes?: readonly string[];
  /**
   * Accept greyscale label PNGs. Default: only for splits checked against SegmentationClassAug
   * (`*_aug` splits when `labelDir` is not given), as the common SBD release is greyscale.
   */
  allowGrayLabels?: boolean;
  /** Files decoded at once (default 8). */
  concurrency?: number;
}

function asProblem(error: unknown, fallbackFile: string, id?: string): DatasetProblem {
  if (error instanceof DatasetError) return { file: error.file, problem: error.problem, id };
  return { file: fallbackFile, problem: (error as Error).message ?? String(error), id };
}

/**
 * Walks a dataset in the VOC layout and reports every problem found (missing or unreadable split
 * files, ids that escape the root, duplicate ids, missing, corrupt or wrongly sized images and
 * labels, label PNGs that are not palette-indexed or hold values that are neither a class nor 255),
 * not only the first.
 */
export async function validate(root: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const layout: DatasetLayout = { ...VOC_LAYOUT, ...options };
  const numClasses = (options.classes ?? VOC_CLASSES).length;
  const problems: DatasetProblem[] = [];
  const splits: Record<string, number> = {};
  let resolved: string;
  try {
    resolved = await resolveDatasetRoot(root, layout.imageDir);
  } catch (error) {
    return { root: undefined, ok: false, splits, checked: 0, problems: [asProblem(error, root)] };
  }

  const splitDir = join(resolved, layout.splitDir);
  let splitNames = options.splits;
  if (!splitNames) {
    if (!(await isDirectory(splitDir))) {
      problems.push({ file: splitDir, problem: 'split folder not found' });
      splitNames = [];
    } else {
      splitNames = (await readdir(splitDir))
        .filter((name) => name.endsWith('.txt'))
        .map((name) => name.slice(0, -4));
      splitNames.sort();
      if (splitNames.length === 0)
        problems.push({ file: splitDir, problem: 'no split files (*.txt) in the split folder' });
    }
  }

  const imageDir = join(resolved, layout.imageDir);
  // SBD lists (train_aug.txt) sit beside the VOC ones but name SegmentationClassAug labels.
  const isSbdSplit = (name: string) => options.labelDir === undefined && /(^|_)aug$/.test(name);
  const labelsFor = (name: string) => ({
    dir: join(resolved, isSbdSplit(name) ? SBD_LAYOUT.labelDir : layout.labelDir),
    allowGray: options.allowGrayLabels ?? isSbdSplit(name),
  });
  interface Check {
    id: string;
    splitFile: string;
    labelDir: string;
    allowGray: boolean;
  }
  const toCheck = new Map<string, Check>(); // label folder + id -> the first split file that lists it
  for (const name of splitNames) {
    const splitFile = join(splitDir, `${name}.txt`);
    let text: string;
    try {
      text = await readFile(splitFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({
        file: splitFile,
        problem: code === 'ENOENT' ? 'split file not found' : `split file cannot be read (${code})`,
      });
      continue;
    }
    const ids = parseSplitList(text);
    splits[name] = ids.length;
    if (ids.length === 0) problems.push({ file: splitFile, problem: 'split file lists no ids' });
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) {
        problems.push({ file: splitFile, problem: `id ${JSON.stringify(id)} is listed more than once`, id });
        continue;
      }
      seen.add(id);
      try {
        fileForId(imageDir, id, layout.imageExtension, splitFile);
        fileForId(labelsFor(name).dir, id, layout.labelExtension, splitFile);
      } catch (error) {
        problems.push(asProblem(error, splitFile, id));
        continue;
      }
      const labels = labelsFor(name);
      const key = `${labels.dir}\0${id}`;
      if (!toCheck.has(key))
        toCheck.set(key, { id, splitFile, labelDir: labels.dir, allowGray: labels.allowGray });
    }
  }

  const entries = [...toCheck.values()];
  const checkOne = async ({ id, splitFile, labelDir, allowGray }: Check): Promise<void> => {
    const imagePath = fileForId(imageDir, id, layout.imageExtension, splitFile);
    const labelPath = fileForId(labelDir, id, layout.labelExtension, splitFile);
    const context = ` (id ${JSON.stringify(id)} listed in ${splitFile})`;
    const [image, label] = await Promise.allSettled([
      readImageFile(imagePath, context),
      readLabelFile(labelPath, { allowGray, numClasses }, context),
    ]);
    if (image.status === 'rejected') problems.push(asProblem(image.reason, imagePath, id));
    if (label.status === 'rejected') problems.push(asProblem(label.reason, labelPath, id));
    if (image.status === 'fulfilled' && label.status === 'fulfilled') {
      const a = image.value;
      const b = label.value;
      if (a.width !== b.width || a.height !== b.height) {
        problems.push({
          file: labelPath,
          problem: `label is ${b.width}x${b.height} (WxH) but its image ${imagePath} is ${a.width}x${a.height}`,
          id,
        });
      }
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? 8);
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, entries.length) }, async () => {
    while (next < entries.length) await checkOne(entries[next++]);
  });
  await Promise.all(runners);
  // Stable order whatever finished first.
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.problem < b.problem ? -1 : 1));
  return { root: resolved, ok: problems.length === 0, splits, checked: entries.length, problems };
}
