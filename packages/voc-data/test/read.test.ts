import { cp, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SyntheticVoc,
  generateSyntheticVoc,
  openSbdDataset,
  openSegmentationDataset,
  openVocDataset,
  parseSplitList,
  validate,
} from '../src/node/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let voc: SyntheticVoc;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  voc = await generateSyntheticVoc(join(dir, 'voc'), { seed: 7, count: 6, layout: 'VOCdevkit', sbd: true });
});
afterAll(() => cleanup());

describe('the synthetic generator', () => {
  it('writes the VOC layout with odd and varied sizes and void borders', async () => {
    expect(voc.vocRoot).toBe(join(dir, 'voc', 'VOCdevkit', 'VOC2012'));
    const first = voc.samples[0];
    expect(first.width % 2).toBe(1);
    expect(first.height % 2).toBe(1);
    expect(new Set(voc.samples.map((s) => `${s.width}x${s.height}`)).size).toBeGreaterThan(3);
    for (const sample of voc.samples) {
      const values = new Set(sample.label);
      expect(values.has(255)).toBe(true);
      expect(values.has(0)).toBe(true);
      expect([...values].some((v) => v > 0 && v < 21)).toBe(true);
    }
    const png = await readFile(join(voc.vocRoot, 'SegmentationClass', `${first.id}.png`));
    expect([png[24], png[25]]).toEqual([8, 3]); // 8-bit, colour type 3: palette-indexed
    const list = await readFile(join(voc.vocRoot, 'ImageSets/Segmentation/trainval.txt'), 'utf8');
    expect(parseSplitList(list)).toEqual(voc.ids);
    expect([...voc.splits.train, ...voc.splits.val]).toEqual(voc.splits.trainval);
  });

  it('is seeded: the same seed writes the same data, another seed different data', async () => {
    const a = await generateSyntheticVoc(join(dir, 'seed-a'), { seed: 3, count: 2 });
    const b = await generateSyntheticVoc(join(dir, 'seed-b'), { seed: 3, count: 2 });
    const c = await generateSyntheticVoc(join(dir, 'seed-c'), { seed: 4, count: 2 });
    expect(b.samples).toEqual(a.samples);
    expect(c.samples[0].label).not.toEqual(a.samples[0].label);
  });
});

describe('reading VOC', () => {
  it('returns exactly the generated labels, and the JPEG pixels as libvips decodes them', async () => {
    const dataset = await openVocDataset(voc.root, { split: 'trainval' });
    expect(dataset.root).toBe(voc.vocRoot); // a VOCdevkit root resolves to its VOC2012 folder
    expect(dataset.ids).toEqual(voc.ids);
    for (const [i, generated] of voc.samples.entries()) {
      const sample = await dataset.read(i);
      expect([sample.id, sample.width, sample.height]).toEqual([
        generated.id,
        generated.width,
        generated.height,
      ]);
      expect(sample.label).toEqual(generated.label);
      const file = join(voc.vocRoot, 'JPEGImages', `${generated.id}.jpg`);
      const reference = await sharp(file).raw().toBuffer();
      expect(Buffer.from(sample.image)).toEqual(reference);
      // ... and those pixels are the rendered ones up to JPEG error (not flipped, shifted or swapped).
      let sum = 0;
      for (let k = 0; k < sample.image.length; k++) sum += Math.abs(sample.image[k] - generated.rendered[k]);
      expect(sum / sample.image.length).toBeLessThan(4);
    }
  });

  it('opens train and val and the VOC2012 folder itself', async () => {
    const train = await openVocDataset(voc.vocRoot);
    const val = await openVocDataset(voc.vocRoot, { split: 'val' });
    expect(train.ids).toEqual(voc.splits.train);
    expect(val.ids).toEqual(voc.splits.val);
    expect((await val.read(voc.splits.val[0])).label).toEqual(
      voc.samples[voc.ids.indexOf(voc.splits.val[0])].label,
    );
  });

  it('keeps one shard of the ids', async () => {
    const shard = await openVocDataset(voc.root, { split: 'trainval', shard: { index: 1, count: 4 } });
    expect(shard.ids).toEqual([voc.ids[1], voc.ids[5]]);
  });

  it('validates a good dataset with no problems', async () => {
    const report = await validate(voc.root);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toBe(10); // 6 ids with SegmentationClass, 4 train_aug ids with SegmentationClassAug
    expect(report.splits).toEqual({ train: 4, train_aug: 4, trainval: 6, val: 2 });
  });
});

describe('reading SBD and custom datasets', () => {
  it('reads SegmentationClassAug (greyscale) with train_aug.txt', async () => {
    const sbd = await openSbdDataset(voc.root);
    expect(sbd.splitFile).toBe(join(voc.vocRoot, 'ImageSets/Segmentation/train_aug.txt'));
    expect(sbd.ids).toEqual(voc.splits.train_aug);
    const sample = await sbd.read(0);
    expect(sample.label).toEqual(voc.samples[0].label);
  });

  it('validates train_aug ids against SegmentationClassAug, not SegmentationClass', async () => {
    const sbd = await generateSyntheticVoc(join(dir, 'sbd-only'), { seed: 8, count: 3, sbd: true });
    const augOnly = '2008_999999';
    await cp(
      join(sbd.vocRoot, 'JPEGImages', `${sbd.ids[0]}.jpg`),
      join(sbd.vocRoot, 'JPEGImages', `${augOnly}.jpg`),
    );
    await cp(
      join(sbd.vocRoot, 'SegmentationClassAug', `${sbd.ids[0]}.png`),
      join(sbd.vocRoot, 'SegmentationClassAug', `${augOnly}.png`),
    );
    const list = join(sbd.vocRoot, 'ImageSets/Segmentation/train_aug.txt');
    await writeFile(list, `${[...sbd.splits.train, augOnly].join('\n')}\n`);
    expect((await validate(sbd.root)).problems).toEqual([]);
    const badAug = join(sbd.vocRoot, 'SegmentationClassAug', `${sbd.ids[1]}.png`);
    await writeFile(badAug, 'not a png');
    const report = await validate(sbd.root);
    expect(report.problems.map((p) => p.file)).toEqual([badAug]);
  });

  it('reads DeepLab-style list lines (image and label paths)', async () => {
    const lines = voc.splits.train.map((id) => `/JPEGImages/${id}.jpg /SegmentationClassAug/${id}.png`);
    await writeFile(join(voc.vocRoot, 'train_aug_paths.txt'), `${lines.join('\n')}\n`);
    const sbd = await openSbdDataset(voc.root, { split: 'train_aug_paths' });
    expect(sbd.ids).toEqual(voc.splits.train);
  });

  it('reads a custom dataset in the same layout with its own classes and folders', async () => {
    const custom = await generateSyntheticVoc(join(dir, 'custom'), { seed: 1, count: 3, numClasses: 4 });
    await rename(join(custom.vocRoot, 'SegmentationClass'), join(custom.vocRoot, 'Masks'));
    await cp(join(custom.vocRoot, 'ImageSets/Segmentation'), join(custom.vocRoot, 'lists'), {
      recursive: true,
    });
    const classes = ['ground', 'square', 'round', 'pointy'];
    const dataset = await openSegmentationDataset(custom.root, {
      split: 'trainval',
      classes,
      labelDir: 'Masks',
      splitDir: 'lists',
    });
    expect(dataset.classes).toEqual(classes);
    for (const [i, generated] of custom.samples.entries())
      expect((await dataset.read(i)).label).toEqual(generated.label);
    // The same files against a shorter class list: the extra indices are an error naming the file.
    const tooFew = await openSegmentationDataset(custom.root, {
      split: 'trainval',
      classes: ['a'],
      labelDir: 'Masks',
      splitDir: 'lists',
    });
    await expect(tooFew.read(0)).rejects.toThrow(
      /Masks\/2000_000000\.png: label holds index .* neither a class \(0\.\.0\) nor 255/,
    );
  });
});

describe('decoding images', () => {
  it('turns a greyscale JPEG into RGB with equal channels', async () => {
    const { decodeImageBytes } = await import('../src/node/index.js');
    const gray = new Uint8Array(6 * 4).map((_, i) => i * 10);
    const jpeg = await sharp(gray, { raw: { width: 6, height: 4, channels: 1 } })
      .jpeg({ quality: 100 })
      .toBuffer();
    const image = await decodeImageBytes(jpeg, 'gray.jpg');
    expect([image.width, image.height, image.data.length]).toEqual([6, 4, 72]);
    for (let p = 0; p < 24; p++) {
      expect(image.data[p * 3]).toBe(image.data[p * 3 + 1]);
      expect(image.data[p * 3]).toBe(image.data[p * 3 + 2]);
      expect(Math.abs(image.data[p * 3] - gray[p])).toBeLessThan(6);
    }
  });
});
