import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, SeededRandom, augmentSample, meanPixel, normalizeImage } from '../src/index.js';
import {
  type Batch,
  type PipelineOptions,
  type SegmentationDataset,
  type SyntheticVoc,
  createBatchPipeline,
  generateSyntheticVoc,
  openVocDataset,
} from '../src/node/index.js';
import { IMAGENET, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let voc: SyntheticVoc;
let dataset: SegmentationDataset;

const train: PipelineOptions = {
  mode: 'train',
  batchSize: 3,
  normalization: IMAGENET,
  augment: { cropSize: { height: 41, width: 37 } },
  seed: 'pipeline',
  epochs: 2,
};

async function collect(options: PipelineOptions, target = dataset): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const batch of createBatchPipeline(target, options)) batches.push(batch);
  return batches;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  voc = await generateSyntheticVoc(join(dir, 'voc'), { seed: 5, count: 8, valFraction: 0 });
  dataset = await openVocDataset(voc.root, { split: 'trainval' });
});
afterAll(() => cleanup());

describe('BatchPipeline in train mode', () => {
  it('yields NHWC batches equal to decode -> augment(seed, epoch, index) -> normalise', async () => {
    const batches = await collect(train);
    expect(batches).toHaveLength(4); // 8 ids, batches of 3, last partial dropped, 2 epochs
    const seen: string[] = [];
    for (const batch of batches) {
      expect([batch.batchSize, batch.height, batch.width]).toEqual([3, 41, 37]);
      expect(batch.images).toHaveLength(3 * 41 * 37 * 3);
      expect(batch.labels).toHaveLength(3 * 41 * 37);
      seen.push(...batch.ids);
    }
    expect(new Set(seen.slice(0, 6)).size).toBe(6);
    expect(seen.slice(0, 6)).not.toEqual(seen.slice(6)); // reshuffled per epoch
    // Rebuild batch 2 (epoch 1, positions 0..2) by hand.
    const batch = batches[2];
    expect(batch.epoch).toBe(1);
    const pixels = 41 * 37;
    for (let k = 0; k < 3; k++) {
      const sample = await dataset.read(batch.ids[k]);
      const augmented = augmentSample(
        sample,
        {
          cropSize: { height: 41, width: 37 },
          scaleRange: [0.5, 2],
          flipProbability: 0.5,
          fill: meanPixel(IMAGENET),
        },
        SeededRandom.forSample('pipeline', 1, k),
      );
      expect(batch.labels.subarray(k * pixels, (k + 1) * pixels)).toEqual(augmented.label);
      expect(batch.images.subarray(k * pixels * 3, (k + 1) * pixels * 3)).toEqual(
        normalizeImage(augmented.image, IMAGENET),
      );
    }
  });

  it('keeps `prefetch` batches in flight beyond the one handed out', async () => {
    const requested: string[] = [];
    const counting: SegmentationDataset = {
      ...dataset,
      source: (id) => {
        requested.push(id);
        return dataset.source(id);
      },
    };
    const pipeline = createBatchPipeline(counting, { ...train, batchSize: 2, prefetch: 2, epochs: 3 });
    expect(requested).toHaveLength(0); // nothing starts before the first request
    await pipeline.next();
    expect(requested).toHaveLength(2 * 3); // the batch handed out + 2 prefetched
    await pipeline.next();
    expect(requested).toHaveLength(2 * 4);
    await pipeline.close();
  });

  it('gives the same batches with a pool of worker threads', async () => {
    const inline = await collect(train);
    const threaded = await collect({ ...train, workers: 2, prefetch: 3 });
    expect(threaded).toEqual(inline);
  });

  it('resumes from a saved position with the very same batches', async () => {
    const all = await collect(train);
    const pipeline = createBatchPipeline(dataset, train);
    await pipeline.next();
    const second = await pipeline.next();
    expect(pipeline.position).toEqual(second!.position);
    const saved = JSON.parse(JSON.stringify(pipeline.position));
    await pipeline.close();
    expect(saved).toEqual({ epoch: 0, index: 6 });
    const resumed = await collect({ ...train, start: saved });
    expect(resumed).toEqual(all.slice(2));
  });

  it('pads small images with the mean (zero after normalisation) and 255 labels', async () => {
    const [batch] = await collect({
      ...train,
      augment: { cropSize: { height: 200, width: 190 }, scaleRange: [1, 1] },
      epochs: 1,
    });
    // Row 199 lies below every image (at most 96 px high at scale 1): all padding.
    const row = 199 * 190;
    for (let x = 0; x < 190; x++) {
      expect(batch.labels[row + x]).toBe(255);
      for (let c = 0; c < 3; c++) expect(Math.abs(batch.images[(row + x) * 3 + c])).toBeLessThan(1e-5);
    }
  });
});

describe('BatchPipeline in eval mode', () => {
  it('keeps order and full size with batches of one, and the last partial batch', async () => {
    const batches = await collect({ mode: 'eval', batchSize: 1, normalization: IMAGENET });
    expect(batches.map((b) => b.ids[0])).toEqual(voc.ids);
    for (const [i, batch] of batches.entries()) {
      const generated = voc.samples[i];
      expect([batch.width, batch.height]).toEqual([generated.width, generated.height]);
      expect(batch.labels).toEqual(generated.label);
      expect(batch.sizes[0]).toEqual({
        originalWidth: generated.width,
        originalHeight: generated.height,
        validWidth: generated.width,
        validHeight: generated.height,
      });
    }
  });

  it('pads to a fixed size for larger batches and needs padTo for them', async () => {
    const batches = await collect({
      mode: 'eval',
      batchSize: 3,
      normalization: IMAGENET,
      eval: { padTo: { height: 96, width: 96 } },
    });
    expect(batches.map((b) => b.batchSize)).toEqual([3, 3, 2]);
    expect(batches[0].images).toHaveLength(3 * 96 * 96 * 3);
    expect(() =>
      createBatchPipeline(dataset, { mode: 'eval', batchSize: 2, normalization: IMAGENET }),
    ).toThrow(/padTo/);
  });

  it('spreads ids over shards', async () => {
    const shards = await Promise.all(
      [0, 1, 2].map((index) =>
        collect({ mode: 'eval', batchSize: 1, normalization: IMAGENET, shard: { index, count: 3 } }),
      ),
    );
    const ids = shards.map((batches) => batches.map((b) => b.ids[0]));
    expect(ids[1]).toEqual([voc.ids[1], voc.ids[4], voc.ids[7]]);
    expect(ids.flat().sort()).toEqual([...voc.ids].sort());
  });
});

describe('BatchPipeline errors', () => {
  it('reports a bad file by name, from the main thread and from a worker', async () => {
    const broken = await generateSyntheticVoc(join(dir, 'broken'), { seed: 6, count: 2, valFraction: 0 });
    const { writeFile } = await import('node:fs/promises');
    const badJpg = join(broken.vocRoot, 'JPEGImages', `${broken.ids[1]}.jpg`);
    await writeFile(badJpg, 'not a jpeg');
    const brokenSet = await openVocDataset(broken.root, { split: 'trainval' });
    for (const workers of [0, 1]) {
      const pipeline = createBatchPipeline(brokenSet, {
        mode: 'eval',
        batchSize: 1,
        normalization: IMAGENET,
        workers,
      });
      await pipeline.next();
      const error = await pipeline.next().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatasetError);
      expect((error as DatasetError).file).toBe(badJpg);
      expect((error as DatasetError).message).toMatch(/corrupt or unreadable image/);
      await pipeline.close();
    }
  });
});

describe('WorkerPool', () => {
  it('refuses work once a worker has died, instead of hanging', async () => {
    const { WorkerPool } = await import('../src/node/worker-pool.js');
    const pool = new WorkerPool(1);
    const job = {
      source: dataset.source(voc.ids[0]),
      normalization: IMAGENET,
      seed: 0,
      epoch: 0,
      index: 0,
      transform: { mode: 'eval' as const, eval: { fill: [0, 0, 0] as const } },
    };
    expect((await pool.run(job)).id).toBe(voc.ids[0]);
    // Kill the thread behind the pool's back.
    const workers = (pool as unknown as { workers: { worker: import('node:worker_threads').Worker }[] })
      .workers;
    await workers[0].worker.terminate();
    await expect(pool.run(job)).rejects.toThrow(/exited with code/);
    await pool.close();
  });
});
