// Runs the built package under plain `node` (no vitest, no tsx): the ./node entry must find its
// worker next to dist/node/index.js, and workers must give the same batches as the main thread.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOC_CLASSES } from '../../dist/index.js';
import {
  createBatchPipeline,
  generateSyntheticVoc,
  openVocDataset,
  validate,
} from '../../dist/node/index.js';

const dir = await mkdtemp(join(tmpdir(), 'semseg-voc-dist-'));
try {
  const voc = await generateSyntheticVoc(dir, { seed: 1, count: 5, valFraction: 0 });
  assert.equal(VOC_CLASSES.length, 21);
  assert.equal((await validate(voc.root)).ok, true);
  const dataset = await openVocDataset(voc.root, { split: 'trainval' });
  const options = {
    mode: 'train',
    batchSize: 2,
    normalization: { mean: [123.68, 116.779, 103.939], std: [1, 1, 1], scale: 255, channelOrder: 'bgr' },
    augment: { cropSize: { height: 33, width: 31 } },
    seed: 9,
  };
  const run = async (workers) => {
    const batches = [];
    for await (const batch of createBatchPipeline(dataset, { ...options, workers })) batches.push(batch);
    return batches;
  };
  const inline = await run(0);
  const threaded = await run(2);
  assert.equal(inline.length, 2);
  assert.deepEqual(threaded, inline);
  console.log('voc-data dist: pipeline with 0 and 2 workers agree');
} finally {
  await rm(dir, { recursive: true, force: true });
}
