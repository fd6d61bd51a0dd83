import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, Rng } from '@semseg/core';
import { ConfusionMatrix } from '@semseg/metrics';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EVAL_FORMAT,
  type EvalRecord,
  evalRecord,
  mergeEvalRecords,
  mergedEvalRecord,
  metricsRecord,
} from '../src/index.js';
import { mergeEvalFiles, readEvalRecordFile } from '../src/node/index.js';

const CLASSES = ['background', 'cat', 'dog'];

/** Six random "images" of 40 pixels (prediction, target), 255 sprinkled in the targets. */
function images(): Array<{ pred: Uint8Array; target: Uint8Array }> {
  const rng = new Rng(7);
  return Array.from({ length: 6 }, () => {
    const pred = new Uint8Array(40);
    const target = new Uint8Array(40);
    for (let p = 0; p < 40; p++) {
      pred[p] = Math.floor(rng.next() * 3);
      target[p] = rng.next() < 0.1 ? 255 : Math.floor(rng.next() * 3);
    }
    return { pred, target };
  });
}

/** The record a shard of `count` writes (images whose position % count == index), with a CRF matrix. */
function shardRecord(index: number, count: number): EvalRecord {
  const matrix = new ConfusionMatrix(3);
  const crf = new ConfusionMatrix(3);
  let n = 0;
  images().forEach(({ pred, target }, i) => {
    if (i % count !== index) return;
    matrix.update(pred, target);
    crf.update(
      target.map((t) => (t === 255 ? 0 : t)),
      target,
    );
    n++;
  });
  return evalRecord(
    {
      images: n,
      matrix: matrix.toJSON(),
      metrics: matrix.compute(),
      crfMatrix: crf.toJSON(),
      crfMetrics: crf.compute(),
    },
    CLASSES,
    {
      checkpoint: 'runs/a/final',
      checkpointSha256: ['ab'.repeat(32)],
      split: 'val',
      inference: { mode: 'whole', scales: [1], flip: false },
      shard: { index, count },
      crfSettings: { iterations: 5 },
    },
  );
}

describe('evaluation records', () => {
  it('write the metrics as fractions, null for a class absent from both maps', () => {
    const matrix = new ConfusionMatrix(3);
    matrix.update(new Uint8Array([0, 0, 1, 1]), new Uint8Array([0, 1, 1, 1]));
    const record = metricsRecord(matrix.compute(), CLASSES);
    expect(record.aAcc).toBeCloseTo(0.75, 12);
    expect(record.perClass[2]).toEqual({ class: 'dog', iou: null, acc: null });
    expect(record.perClass[0]).toEqual({ class: 'background', iou: 0.5, acc: 1 });
  });

  it('merge shards into exactly the one-pass matrices, and merge again', () => {
    const whole = shardRecord(0, 1);
    const merged = mergeEvalRecords([0, 1, 2].map((i) => ({ file: `s${i}.json`, value: shardRecord(i, 3) })));
    expect(merged.images).toBe(6);
    expect(merged.matrix.toJSON()).toEqual(whole.matrix);
    expect(merged.crfMatrix?.toJSON()).toEqual(whole.crf?.matrix);
    const record = mergedEvalRecord(merged);
    expect(record).toMatchObject({ format: EVAL_FORMAT, version: 1, mergedFrom: 3, images: 6 });
    expect(record.metrics).toEqual(whole.metrics);
    expect(record.crf?.metrics).toEqual(whole.crf?.metrics);
    expect(record.crf?.settings).toEqual({ iterations: 5 });
    // A merged record (JSON round trip) is itself a record the merge reads.
    const again = mergeEvalRecords([{ file: 'm.json', value: JSON.parse(JSON.stringify(record)) }]);
    expect(again.matrix.toJSON()).toEqual(whole.matrix);
  });

  it('refuse what does not merge, naming the file', () => {
    const a = shardRecord(0, 3);
    const b = shardRecord(1, 3);
    const merge = (values: unknown[]) =>
      mergeEvalRecords(values.map((value, i) => ({ file: `shard-${i}.json`, value })));
    expect(() => merge([])).toThrow(InputError);
    expect(() => merge([{ hello: 1 }])).toThrow(/^shard-0\.json: not a 'semseg eval --json' file \(format:/);
    expect(() => merge([a, a])).toThrow(/^shard-1\.json: shard 0\/3 is given twice$/);
    expect(() => merge([a, { ...b, classes: ['x', 'y', 'z'] }])).toThrow(
      /^shard-1\.json: its classes differ from shard-0\.json's$/,
    );
    const { crf: _crf, ...withoutCrf } = b;
    expect(() => merge([a, withoutCrf])).toThrow(/some shards were scored with the CRF and some without/);
  });
});

describe('evaluation record files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'semseg-eval-records-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('read and merge from disk', async () => {
    const files = [0, 1].map((i) => {
      const file = join(dir, `shard-${i}.json`);
      writeFileSync(file, JSON.stringify(shardRecord(i, 2)));
      return file;
    });
    const merged = await mergeEvalFiles(files);
    expect(merged.matrix.toJSON()).toEqual(shardRecord(0, 1).matrix);
  });

  it('name a missing, a folder or a broken file in one line', async () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": ');
    await expect(readEvalRecordFile(join(dir, 'nope.json'))).rejects.toThrow(
      /nope\.json: shard JSON not found$/,
    );
    await expect(readEvalRecordFile(dir)).rejects.toThrow(/: shard JSON is a folder, expected a file$/);
    await expect(readEvalRecordFile(broken)).rejects.toThrow(/broken\.json: shard JSON is not valid JSON \(/);
  });
});
