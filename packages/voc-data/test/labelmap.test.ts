import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, VOC_CLASSES, parseClassNames, parseLabelmap, vocColorMap } from '../src/index.js';
import { generateSyntheticVoc, openVocDataset, readClassesOption } from '../src/node/index.js';

// CVAT's "PASCAL VOC 1.1" export writes this file at the dataset root.
const CVAT = `# label:color_rgb:parts:actions
background:0,0,0::
shirt:250,50,83::
trousers:51,221,255::
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'semseg-labelmap-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('labelmap.txt', () => {
  it("parses CVAT's export: names in index order and their colours", () => {
    expect(parseLabelmap(CVAT)).toEqual({
      classes: ['background', 'shirt', 'trousers'],
      palette: [
        [0, 0, 0],
        [250, 50, 83],
        [51, 221, 255],
      ],
    });
    // Without a colour a class takes the VOC colour of its index; CRLF and blank lines are fine.
    expect(parseLabelmap('a:::\r\n\r\nb:1,2,3::\r\nc\r\n').palette).toEqual([
      vocColorMap(3)[0],
      [1, 2, 3],
      vocColorMap(3)[2],
    ]);
  });

  it('bad lines are one-line errors naming the file and the line', () => {
    expect(() => parseLabelmap('a:0,0,0::\nb:300,0,0::\n', '/d/labelmap.txt')).toThrow(
      "/d/labelmap.txt: line 2: colour '300,0,0' is not r,g,b with each 0..255",
    );
    expect(() => parseLabelmap('a:0,0,0::\n:1,1,1::\n', 'f')).toThrow(
      "f: line 2: no class name in ':1,1,1::'",
    );
    expect(() => parseLabelmap('a::\na::\n', 'f')).toThrow("f: class 'a' is listed twice");
    expect(() => parseLabelmap('# nothing\n', 'f')).toThrow('f: a dataset needs 1..255 classes');
    expect(() => parseLabelmap('a:1,2::', 'f')).toThrow(DatasetError);
  });

  it('--classes as a comma list', () => {
    expect(parseClassNames('bg, shirt,trousers').classes).toEqual(['bg', 'shirt', 'trousers']);
    expect(() => parseClassNames('bg,,x')).toThrow("--classes: empty class name in 'bg,,x'");
  });

  it('a dataset with labelmap.txt at its root takes its classes; --classes overrides it', async () => {
    const voc = await generateSyntheticVoc(join(dir, 'garments'), {
      seed: 1,
      count: 3,
      minSize: 24,
      maxSize: 24,
      numClasses: 3,
    });
    const plain = await openVocDataset(voc.root, { split: 'train' });
    expect(plain.classes).toEqual(VOC_CLASSES);
    await writeFile(join(voc.root, 'labelmap.txt'), CVAT);
    const dataset = await openVocDataset(voc.root, { split: 'train' });
    expect(dataset.classes).toEqual(['background', 'shirt', 'trousers']);
    expect(dataset.palette.slice(0, 3)).toEqual([
      [0, 0, 0],
      [250, 50, 83],
      [51, 221, 255],
    ]);
    expect(dataset.palette.length).toBe(256);
    await dataset.read(0); // labels 0..2 fit the three classes

    const fromList = await readClassesOption('bg,a,b');
    const overridden = await openVocDataset(voc.root, { split: 'train', ...fromList });
    expect(overridden.classes).toEqual(['bg', 'a', 'b']);
    // A file: labelmap lines, or one name per line.
    await writeFile(join(dir, 'names.txt'), 'bg\nshirt\ntrousers\n');
    expect((await readClassesOption(join(dir, 'names.txt'))).classes).toEqual(['bg', 'shirt', 'trousers']);
    await writeFile(join(dir, 'lm.txt'), CVAT);
    expect((await readClassesOption(join(dir, 'lm.txt'))).palette[1]).toEqual([250, 50, 83]);
    await expect(readClassesOption('nosuchfile')).rejects.toThrow(
      'nosuchfile: no such class file, and not a comma-separated list of classes',
    );

    // Fewer classes than the labels use: the sample that breaks it is named.
    await writeFile(join(voc.root, 'labelmap.txt'), 'background:0,0,0::\nshirt:1,1,1::\n');
    const two = await openVocDataset(voc.root, { split: 'trainval' });
    expect(two.classes.length).toBe(2);
    const errors = await Promise.all(
      two.ids.map((_, i) =>
        two.read(i).then(
          () => null,
          (e: Error) => e.message,
        ),
      ),
    );
    expect(errors.filter((m) => m !== null)).toEqual([
      expect.stringMatching(
        /SegmentationClass\/\w+\.png: label holds index 2 \(\d+ px\), neither a class \(0\.\.1\) nor 255/,
      ),
    ]);
  });
});
