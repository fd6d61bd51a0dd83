import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Normalization,
  ObjectCentredSampler,
  SeededRandom,
  cutRegion,
  encodeLabelPng,
  enlargeObjectBox,
  findObjects,
  objectCentredCrop,
} from '../src/index.js';
import {
  type SyntheticVoc,
  createObjectCentredPipeline,
  generateSyntheticVoc,
  indexObjects,
  openVocDataset,
} from '../src/node/index.js';

// 6 x 4 class map: class 3 in two separate blobs, class 5 in one; 255 void.
// biome-ignore format: the label map reads as a picture
const CLASSES = Uint8Array.from([
  3, 3, 0, 0, 5, 5,
  3, 0, 0, 0, 5, 255,
  0, 0, 3, 0, 0, 0,
  0, 0, 3, 3, 0, 0,
]);

describe('findObjects', () => {
  it('takes instances from connected components of each class when there is no instance map', () => {
    expect(findObjects(CLASSES, 6, 4)).toEqual([
      { classIndex: 3, box: { x0: 0, y0: 0, x1: 2, y1: 2 }, area: 3 },
      { classIndex: 5, box: { x0: 4, y0: 0, x1: 6, y1: 2 }, area: 3 },
      { classIndex: 3, box: { x0: 2, y0: 2, x1: 4, y1: 4 }, area: 3 },
    ]);
  });

  it("takes VOC's SegmentationObject ids as instances, class by majority, void and background skipped", () => {
    // Instance 2 joins both class-3 blobs (one object occluded into two parts); 1 is the class-5 object.
    // biome-ignore format: the instance map reads as a picture
    const objects = Uint8Array.from([
      2, 2, 0, 0, 1, 1,
      2, 0, 0, 0, 1, 255,
      0, 0, 2, 0, 0, 0,
      0, 0, 2, 2, 0, 0,
    ]);
    expect(findObjects(CLASSES, 6, 4, { objectLabel: objects })).toEqual([
      { classIndex: 5, box: { x0: 4, y0: 0, x1: 6, y1: 2 }, area: 3 },
      { classIndex: 3, box: { x0: 0, y0: 0, x1: 4, y1: 4 }, area: 6 },
    ]);
    expect(findObjects(CLASSES, 6, 4, { objectLabel: objects, minArea: 4 })).toHaveLength(1);
  });
});

describe('object-centred crops', () => {
  it('enlarges a box about its centre and pads what leaves the image with the fill and 255', () => {
    expect(enlargeObjectBox({ x0: 10, y0: 20, x1: 20, y1: 40 }, 1.2)).toEqual({
      x0: 9,
      y0: 18,
      x1: 21,
      y1: 42,
    });
    const sample = {
      width: 2,
      height: 2,
      image: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
      label: Uint8Array.from([1, 2, 3, 4]),
    };
    const region = cutRegion(sample, { x0: -1, y0: 0, x1: 2, y1: 1 }, [100, 101, 102]);
    expect(Array.from(region.image)).toEqual([100, 101, 102, 1, 2, 3, 4, 5, 6]);
    expect(Array.from(region.label)).toEqual([255, 1, 2]);
  });

  it("gives 224 x 224 examples centred on the object (the paper's 250 -> 224), seeded", () => {
    const width = 300;
    const height = 200;
    const label = new Uint8Array(width * height);
    const image = new Uint8Array(width * height * 3);
    // A 60 x 40 object of class 7 at (200, 120).
    for (let y = 120; y < 160; y++) for (let x = 200; x < 260; x++) label[y * width + x] = 7;
    const sample = { width, height, image, label };
    const [object] = findObjects(label, width, height);
    const options = { fill: [0, 0, 0] as const };
    const a = objectCentredCrop(sample, object!, options, new SeededRandom(5));
    const b = objectCentredCrop(sample, object!, options, new SeededRandom(5));
    expect([a.width, a.height]).toEqual([224, 224]);
    expect(Array.from(a.label)).toEqual(Array.from(b.label));
    // The enlarged box is 72 x 48 around the object, so the object spans 208 of the resized 250 px
    // (columns and rows 21..228). A 224 window holds at least 203 of them per axis, at most 208:
    // a share between (203/224)^2 = 0.821 and (208/224)^2 = 0.862.
    const share = a.label.filter((v) => v === 7).length / a.label.length;
    expect(share).toBeGreaterThanOrEqual(0.82);
    expect(share).toBeLessThanOrEqual(0.863);
  });
});

describe('ObjectCentredSampler', () => {
  const objects = Array.from({ length: 10 }, (_, i) => ({ image: Math.floor(i / 3), object: i % 3 }));

  it('visits every object once per epoch in a seeded order and resumes from a saved position', () => {
    const sampler = new ObjectCentredSampler({ objects, batchSize: 5, seed: 3, epochs: 2 });
    const first = [sampler.nextBatch()!, sampler.nextBatch()!].flat();
    expect(new Set(first.map((p) => `${p.image}/${p.object}`)).size).toBe(10);
    const saved = sampler.position;
    const rest = sampler.nextBatch()!;
    const resumed = new ObjectCentredSampler({ objects, batchSize: 5, seed: 3, epochs: 2, start: saved });
    expect(resumed.nextBatch()).toEqual(rest);
    expect(resumed.randomFor(rest[0]!).next()).toBe(sampler.randomFor(rest[0]!).next());
    const other = new ObjectCentredSampler({ objects, batchSize: 5, seed: 4, epochs: 2 });
    expect([other.nextBatch()!, other.nextBatch()!].flat()).not.toEqual(first);
  });

  it('refuses an empty object list', () => {
    expect(() => new ObjectCentredSampler({ objects: [], batchSize: 1, seed: 0 })).toThrow(/no objects/);
  });
});

describe('object-centred pipeline (Node)', () => {
  let dir: string;
  let voc: SyntheticVoc;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'semseg-objects-'));
    voc = await generateSyntheticVoc(dir, { count: 6, numClasses: 4, seed: 2 });
    // One image gets an instance map: all its object pixels are one instance.
    const first = voc.samples.find((s) => voc.splits.train.includes(s.id))!;
    const instances = first.label.map((v) => (v === 0 ? 0 : v === 255 ? 255 : 1));
    await mkdir(join(voc.vocRoot, 'SegmentationObject'), { recursive: true });
    await writeFile(
      join(voc.vocRoot, 'SegmentationObject', `${first.id}.png`),
      encodeLabelPng(instances, first.width, first.height),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads instance maps where they exist, components elsewhere, and resumes batch for batch', async () => {
    const dataset = await openVocDataset(voc.root, { split: 'train', classes: ['bg', 'a', 'b', 'c'] });
    const index = await indexObjects(dataset);
    expect(index.withInstanceMaps).toBe(1);
    expect(index.perImage[dataset.ids.indexOf(voc.splits.train[0]!)]).toHaveLength(1);
    expect(index.objects.length).toBeGreaterThan(dataset.ids.length);
    const normalization: Normalization = { mean: [0, 0, 0], std: [1, 1, 1], scale: 255, channelOrder: 'rgb' };
    const options = {
      batchSize: 2,
      normalization,
      seed: 9,
      crop: { width: 32, height: 32 },
      resize: { width: 40, height: 40 },
      index,
    };
    const pipeline = await createObjectCentredPipeline(dataset, options);
    const one = (await pipeline.next())!;
    expect([one.batchSize, one.height, one.width, one.images.length]).toEqual([2, 32, 32, 2 * 32 * 32 * 3]);
    const two = (await pipeline.next())!;
    const resumed = await createObjectCentredPipeline(dataset, { ...options, start: one.position });
    const again = (await resumed.next())!;
    expect(again.ids).toEqual(two.ids);
    expect(Array.from(again.labels)).toEqual(Array.from(two.labels));
    expect(Array.from(again.images)).toEqual(Array.from(two.images));
    // Object-centred: each example is mostly one object, not background.
    const foreground = Array.from(one.labels).filter((v) => v !== 0 && v !== 255).length / one.labels.length;
    expect(foreground).toBeGreaterThan(0.3);
  });
});
