import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, encodeLabelPng } from '../src/index.js';
import { type SyntheticVoc, generateSyntheticVoc, openVocDataset, validate } from '../src/node/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let voc: SyntheticVoc;
let root: string;
const lists = () => join(root, 'ImageSets', 'Segmentation');
const jpg = (id: string) => join(root, 'JPEGImages', `${id}.jpg`);
const png = (id: string) => join(root, 'SegmentationClass', `${id}.png`);

/** Adds a split that lists one id, so each broken case can be read on its own. */
async function addCase(split: string, id: string): Promise<void> {
  await writeFile(join(lists(), `${split}.txt`), `${id}\n`);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  voc = await generateSyntheticVoc(join(dir, 'broken'), { seed: 2, count: 3 });
  root = voc.vocRoot;
  const good = voc.samples[0];
  const goodJpg = await readFile(jpg(good.id));

  await addCase('noimage', 'ghost'); // neither image nor label

  await copyFile(jpg(good.id), jpg('nolabel'));
  await addCase('nolabel', 'nolabel');

  await copyFile(jpg(good.id), jpg('mismatch'));
  await writeFile(
    png('mismatch'),
    encodeLabelPng(new Uint8Array((good.width + 1) * good.height), good.width + 1, good.height),
  );
  await addCase('mismatch', 'mismatch');

  await copyFile(jpg(good.id), jpg('rgblabel'));
  const rgb = new Uint8Array(good.width * good.height * 3);
  await writeFile(
    png('rgblabel'),
    encode({ width: good.width, height: good.height, data: rgb, channels: 3, depth: 8 }),
  );
  await addCase('rgblabel', 'rgblabel');

  await copyFile(jpg(good.id), jpg('badindex'));
  const badIndex = good.label.slice();
  badIndex[0] = 30;
  await writeFile(png('badindex'), encodeLabelPng(badIndex, good.width, good.height));
  await addCase('badindex', 'badindex');

  await writeFile(jpg('truncated'), goodJpg.subarray(0, Math.floor(goodJpg.length / 2)));
  await copyFile(png(good.id), png('truncated'));
  await addCase('truncated', 'truncated');

  await writeFile(jpg('garbage'), new TextEncoder().encode('this is not a JPEG file'));
  await copyFile(png(good.id), png('garbage'));
  await addCase('garbage', 'garbage');

  await copyFile(jpg(good.id), jpg('badpng'));
  const goodPng = await readFile(png(good.id));
  await writeFile(png('badpng'), goodPng.subarray(0, goodPng.length - 30));
  await addCase('badpng', 'badpng');

  await mkdir(join(dir, 'outside'), { recursive: true });
  await addCase('escape', '../../outside/secret');
  await addCase('absolute', '/etc/passwd');
});
afterAll(() => cleanup());

async function readError(split: string): Promise<DatasetError> {
  const dataset = await openVocDataset(root, { split });
  try {
    await dataset.read(0);
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetError);
    return error as DatasetError;
  }
  throw new Error(`split ${split} read without error`);
}

describe('bad input gives an error naming the file and the problem', () => {
  it('a missing root', async () => {
    const missing = join(dir, 'nowhere');
    await expect(openVocDataset(missing)).rejects.toThrow(`${missing}: dataset root not found`);
  });

  it('a folder that is not a VOC root', async () => {
    await expect(openVocDataset(dir)).rejects.toThrow(
      /not a VOC dataset root: neither JPEGImages\/ nor VOC2012\/JPEGImages\//,
    );
  });

  it('a missing split file', async () => {
    await expect(openVocDataset(root, { split: 'test' })).rejects.toThrow(
      `${join(lists(), 'test.txt')}: split file not found`,
    );
  });

  it('an id with no image', async () => {
    const error = await readError('noimage');
    expect(error.file).toBe(jpg('ghost'));
    expect(error.message).toContain(
      `image file not found (id "ghost" listed in ${join(lists(), 'noimage.txt')})`,
    );
  });

  it('an id with no label', async () => {
    const error = await readError('nolabel');
    expect(error.file).toBe(png('nolabel'));
    expect(error.problem).toMatch(/^label file not found/);
  });

  it('an image and a label of different sizes', async () => {
    const error = await readError('mismatch');
    expect(error.file).toBe(png('mismatch'));
    const { width, height } = voc.samples[0];
    expect(error.problem).toBe(
      `label is ${width + 1}x${height} (WxH) but its image ${jpg('mismatch')} is ${width}x${height}`,
    );
  });

  it('a label PNG that is not palette-indexed', async () => {
    const error = await readError('rgblabel');
    expect(error.file).toBe(png('rgblabel'));
    expect(error.problem).toMatch(/not palette-indexed \(it is 3-channel 8-bit\)/);
  });

  it('a label index that is neither a class nor 255', async () => {
    const error = await readError('badindex');
    expect(error.file).toBe(png('badindex'));
    expect(error.problem).toBe('label holds index 30 (1 px), neither a class (0..20) nor 255 (ignore)');
  });

  it('a truncated JPEG and a file that is no image at all', async () => {
    for (const id of ['truncated', 'garbage']) {
      const error = await readError(id);
      expect(error.file).toBe(jpg(id));
      expect(error.problem).toMatch(/^corrupt or unreadable image/);
    }
  });

  it('a corrupt PNG', async () => {
    const error = await readError('badpng');
    expect(error.file).toBe(png('badpng'));
    expect(error.problem).toMatch(/^corrupt PNG/);
  });

  it('an id that escapes the root', async () => {
    await expect(openVocDataset(root, { split: 'escape' })).rejects.toThrow(
      `${join(lists(), 'escape.txt')}: id "../../outside/secret" escapes the dataset root`,
    );
    await expect(openVocDataset(root, { split: 'absolute' })).rejects.toThrow(
      /absolute\.txt: id "\/etc\/passwd" is not a relative file name/,
    );
  });
});

describe('validate', () => {
  it('reports every problem, not only the first', async () => {
    const report = await validate(root, { splits: undefined });
    expect(report.ok).toBe(false);
    const found = report.problems.map((p) => `${p.file} | ${p.problem}`);
    const expectations: [string, RegExp][] = [
      [jpg('ghost'), /image file not found/],
      [png('ghost'), /label file not found/],
      [png('nolabel'), /label file not found/],
      [png('mismatch'), /label is .* but its image/],
      [png('rgblabel'), /not palette-indexed/],
      [png('badindex'), /index 30/],
      [jpg('truncated'), /corrupt or unreadable image/],
      [jpg('garbage'), /corrupt or unreadable image/],
      [png('badpng'), /corrupt PNG/],
      [join(lists(), 'escape.txt'), /escapes the dataset root/],
      [join(lists(), 'absolute.txt'), /not a relative file name/],
    ];
    for (const [file, problem] of expectations) {
      expect(
        report.problems.some((p) => p.file === file && problem.test(p.problem)),
        `${file} ${problem}\n${found.join('\n')}`,
      ).toBe(true);
    }
    expect(report.problems).toHaveLength(expectations.length);
    // The good samples are not reported.
    for (const sample of voc.samples) expect(report.problems.some((p) => p.id === sample.id)).toBe(false);
  });

  it('reports a missing root, missing split files and duplicate ids', async () => {
    const missing = await validate(join(dir, 'nowhere'));
    expect(missing.problems).toEqual([
      { file: join(dir, 'nowhere'), problem: 'dataset root not found (or not a folder)', id: undefined },
    ]);
    await writeFile(join(lists(), 'dupes.txt'), `${voc.ids[0]}\n${voc.ids[0]}\n`);
    const report = await validate(root, { splits: ['dupes', 'nosuch'] });
    expect(report.problems.map((p) => [p.file, p.problem])).toEqual([
      [join(lists(), 'dupes.txt'), `id "${voc.ids[0]}" is listed more than once`],
      [join(lists(), 'nosuch.txt'), 'split file not found'],
    ]);
  });
});
