// Instance ids for U-Net's weight map: from VOC's SegmentationObject map where it exists, else the
// label's connected components, carried through the augmentation with the label.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatasetError,
  SeededRandom,
  augmentSample,
  componentInstances,
  encodeLabelPng,
  instancesFromObjectMap,
} from '../src/index.js';
import {
  type Batch,
  type PipelineOptions,
  type SegmentationDataset,
  createBatchPipeline,
  generateSyntheticVoc,
  loadSample,
  openVocDataset,
} from '../src/node/index.js';
import { IMAGENET, tempDir } from './helpers.js';

describe('componentInstances', () => {
  it('numbers 8-connected components of each class in order of their first pixel', () => {
    // 0 background, 255 ignored; two 1-blobs apart, a 1-blob touching a 2-blob, a diagonal step.
    // biome-ignore format: a 5x5 grid
    const label = Uint8Array.from([
      1, 1, 0, 0, 1, //
      1, 0, 0, 0, 0, //
      0, 0, 2, 2, 255, //
      0, 1, 2, 0, 0, //
      0, 0, 1, 0, 3, //
    ]);
    // biome-ignore format: a 5x5 grid
    const expected = [
      1, 1, 0, 0, 2, //
      1, 0, 0, 0, 0, //
      0, 0, 3, 3, 0, //
      0, 4, 3, 0, 0, //
      0, 0, 4, 0, 5, //
    ];
    expect(Array.from(componentInstances(label, 5, 5))).toEqual(expected);
  });

  it('maps SegmentationObject ids as they are, its void border 255 to no instance', () => {
    expect(Array.from(instancesFromObjectMap(Uint8Array.from([0, 1, 255, 2, 7])))).toEqual([0, 1, 0, 2, 7]);
  });
});

describe('augmentSample with instances', () => {
  it('moves the instance ids exactly as the label (scale, crop, flip), 0 in the padding', () => {
    const width = 23;
    const height = 17;
    const label = new Uint8Array(width * height);
    for (let i = 0; i < label.length; i++) label[i] = (i * 7) % 21;
    const image = new Uint8Array(width * height * 3).fill(100);
    const instances = Uint16Array.from(label, (v) => v + 1000);
    const options = {
      cropSize: { height: 29, width: 31 },
      scaleRange: [0.7, 1.6] as const,
      fill: [0, 0, 0] as [number, number, number],
    };
    for (let trial = 0; trial < 6; trial++) {
      const withInstances = augmentSample(
        { width, height, image, label, instances },
        options,
        SeededRandom.forSample(3, 0, trial),
      );
      const plain = augmentSample(
        { width, height, image, label },
        options,
        SeededRandom.forSample(3, 0, trial),
      );
      expect(plain.instances).toBeUndefined();
      expect(withInstances.draw).toEqual(plain.draw);
      const out = withInstances.instances!;
      expect(out.length).toBe(31 * 29);
      for (let p = 0; p < out.length; p++) {
        const l = withInstances.label[p]!;
        expect(out[p]).toBe(l === 255 ? 0 : l + 1000);
      }
    }
  });
});

describe('BatchPipeline with instances', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let dataset: SegmentationDataset;
  const options: PipelineOptions = {
    mode: 'train',
    batchSize: 2,
    normalization: IMAGENET,
    augment: { cropSize: { height: 33, width: 35 }, scaleRange: [1, 1], flipProbability: 0 },
    seed: 'instances',
    shuffle: false,
    instances: true,
  };
  const collect = async (o: PipelineOptions): Promise<Batch[]> => {
    const out: Batch[] = [];
    for await (const batch of createBatchPipeline(dataset, o)) out.push(batch);
    return out;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const voc = await generateSyntheticVoc(join(dir, 'voc'), { seed: 9, count: 4, valFraction: 0 });
    dataset = await openVocDataset(voc.root, { split: 'trainval' });
  });
  afterAll(() => cleanup());

  it('carries the components of each label when there is no SegmentationObject map', async () => {
    const [batch] = await collect(options);
    const pixels = 33 * 35;
    expect(batch!.instances!.length).toBe(batch!.labels.length);
    const plain = await collect({ ...options, instances: false });
    expect(plain[0]!.instances).toBeUndefined();
    expect(plain[0]!.labels).toEqual(batch!.labels);
    for (let k = 0; k < 2; k++) {
      const sample = await loadSample(dataset.source(dataset.ids[k]!));
      const components = componentInstances(sample.label, sample.width, sample.height);
      // No scaling or flip: the crop is a window of the components (ids as numbered on the whole image).
      const crop = batch!.instances!.subarray(k * pixels, (k + 1) * pixels);
      const labels = batch!.labels.subarray(k * pixels, (k + 1) * pixels);
      const ids = new Set(crop);
      for (const id of ids) if (id !== 0) expect(components.includes(id)).toBe(true);
      for (let p = 0; p < pixels; p++) if (labels[p] === 0 || labels[p] === 255) expect(crop[p]).toBe(0);
    }
  });

  it('reads SegmentationObject/<id>.png where it exists, and names it when its size is wrong', async () => {
    const id = dataset.ids[0]!;
    const sample = await loadSample(dataset.source(id));
    const { width, height } = sample;
    // Every labelled pixel is instance 1 on the left half and 2 on the right: two instances the
    // components would have merged where a class crosses the middle.
    const objects = new Uint8Array(width * height);
    for (let p = 0; p < objects.length; p++)
      if (sample.label[p] !== 0 && sample.label[p] !== 255) objects[p] = p % width < width / 2 ? 1 : 2;
    await mkdir(join(dataset.root, 'SegmentationObject'), { recursive: true });
    const path = join(dataset.root, 'SegmentationObject', `${id}.png`);
    await writeFile(path, encodeLabelPng(objects, width, height));
    const read = await loadSample({ ...dataset.source(id), instancePath: path });
    expect(Array.from(read.instances!)).toEqual(Array.from(objects));
    const [batch] = await collect(options);
    const crop = batch!.instances!.subarray(0, 33 * 35);
    expect([...new Set(crop)].every((v) => v <= 2)).toBe(true);
    await writeFile(path, encodeLabelPng(new Uint8Array(6), 3, 2));
    await expect(loadSample({ ...dataset.source(id), instancePath: path })).rejects.toThrow(DatasetError);
    await expect(loadSample({ ...dataset.source(id), instancePath: path })).rejects.toThrow(
      new RegExp(`${id}\\.png.*instance map is 3x2`),
    );
  });
});
