// Input pipeline benchmark: images/s of decode + random scale (0.5-2) + crop 321x321 + flip +
// normalise, batch 8, on a synthetic VOC-sized dataset written to a temp dir. Rows: the main
// thread alone (sharp decodes on libuv threads, JS augments on the main thread), then pools of
// 1-3 worker threads, measured in the same run, plus the two stages alone to show where time goes.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import { type Normalization, SeededRandom, augmentSample, meanPixel, normalizeImage } from '../src/index.js';
import {
  type LoadedSample,
  createBatchPipeline,
  generateSyntheticVoc,
  openVocDataset,
} from '../src/node/index.js';

const imageCount = 48;
const batchSize = 8;
const cropSize = { height: 321, width: 321 };
const normalization: Normalization = {
  mean: [123.68, 116.779, 103.939],
  std: [1, 1, 1],
  scale: 255,
  channelOrder: 'bgr',
};

const dir = await mkdtemp(join(tmpdir(), 'semseg-voc-bench-'));
try {
  const t0 = performance.now();
  // VOC-like sizes: sides between 333 and 500 px.
  const voc = await generateSyntheticVoc(dir, {
    seed: 1,
    count: imageCount,
    minSize: 333,
    maxSize: 500,
    valFraction: 0,
  });
  console.log(`generated ${imageCount} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const dataset = await openVocDataset(voc.root, { split: 'trainval' });
  const meanSide = voc.samples.reduce((s, x) => s + Math.sqrt(x.width * x.height), 0) / imageCount;

  const rows: (BenchRow & { imagesPerSecond: number; medianMs: number })[] = [];
  const addRow = (name: string, images: number, medianMs: number, baseline?: string) =>
    rows.push({
      name,
      baseline,
      medianMs,
      imagesPerSecond: (images * 1000) / medianMs,
      msPerImage: medianMs / images,
    });

  // Stage 1 alone: decode (sharp JPEG + fast-png label), four files in flight as the pipeline keeps.
  const decodeOnly = await measure(
    async () => {
      for (let i = 0; i < imageCount; i += 4) await Promise.all([0, 1, 2, 3].map((k) => dataset.read(i + k)));
    },
    { warmup: 1, iterations: 5 },
  );
  addRow('decode only', imageCount, decodeOnly.medianMs);

  // Stage 2 alone: augment + normalise on decoded samples, one thread.
  const decoded: LoadedSample[] = await Promise.all(dataset.ids.map((_, i) => dataset.read(i)));
  const augment = {
    cropSize,
    scaleRange: [0.5, 2] as const,
    flipProbability: 0.5,
    fill: meanPixel(normalization),
  };
  let epoch = 0;
  const augmentOnly = await measure(
    () => {
      epoch++;
      decoded.forEach((sample, i) => {
        const out = augmentSample(sample, augment, SeededRandom.forSample(1, epoch, i));
        normalizeImage(out.image, normalization);
      });
    },
    { warmup: 1, iterations: 5 },
  );
  addRow('augment + normalise only', imageCount, augmentOnly.medianMs);

  // The full pipeline, one epoch per measurement, workers started before timing (warm-up epoch).
  const batchesPerEpoch = Math.floor(imageCount / batchSize);
  for (const workers of [0, 1, 2, 3]) {
    const pipeline = createBatchPipeline(dataset, {
      mode: 'train',
      batchSize,
      normalization,
      augment: { cropSize, scaleRange: [0.5, 2] },
      seed: 1,
      epochs: Number.POSITIVE_INFINITY,
      prefetch: 2,
      workers,
    });
    // Main-thread busy time (event-loop utilisation) is what a training loop on that thread loses.
    const busyMs: number[] = [];
    const result = await measure(
      async () => {
        const before = performance.eventLoopUtilization();
        for (let b = 0; b < batchesPerEpoch; b++) {
          const batch = await pipeline.next();
          if (!batch || batch.images.length !== batchSize * 321 * 321 * 3) throw new Error('bad batch');
        }
        busyMs.push(performance.eventLoopUtilization(before).active);
      },
      { warmup: 1, iterations: 5 },
    );
    await pipeline.close();
    const name =
      workers === 0 ? 'pipeline, main thread' : `pipeline, ${workers} worker${workers > 1 ? 's' : ''}`;
    const images = batchesPerEpoch * batchSize;
    addRow(name, images, result.medianMs, workers === 0 ? undefined : 'pipeline, main thread');
    busyMs.sort((a, b) => a - b);
    rows[rows.length - 1].mainBusyMsPerImage = busyMs[busyMs.length >> 1] / images;
  }

  addRatios(rows, 'imagesPerSecond');
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  printTable(
    `voc-data pipeline: ${imageCount} images (mean side ${meanSide.toFixed(0)} px), batch ${batchSize}, crop 321x321, ` +
      `scale 0.5-2, flip, normalise; ${availableParallelism()} cores, load average ${load}` +
      '\n(ratio = images/s against the main-thread pipeline, higher is faster; mainBusyMsPerImage = main-thread' +
      ' event-loop busy time per image, which a training step on that thread would wait for)',
    rows,
    ['name', 'imagesPerSecond', 'msPerImage', 'mainBusyMsPerImage', 'medianMs', 'ratio'],
  );
  writeResults('voc-data-pipeline', {
    imageCount,
    batchSize,
    cropSize,
    cores: availableParallelism(),
    loadAverage: loadavg(),
    rows,
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
