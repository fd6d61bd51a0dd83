import { ConfusionMatrix } from '@semseg/metrics';
import { describe, expect, it } from 'vitest';
import {
  type EvalRecord,
  evalRecord,
  inferenceRecord,
  mergeEvalRecords,
  mergedEvalRecord,
} from '../src/index.js';

const CLASSES = ['background', 'thing'];
const HASH = 'ab'.repeat(32);

/** A shard record whose matrix counts `index + 1` correct background pixels. */
function shard(
  index: number,
  count: number,
  extra: Partial<Parameters<typeof evalRecord>[2]> = {},
): EvalRecord {
  const matrix = new ConfusionMatrix(2);
  matrix.update(new Uint8Array(index + 1), new Uint8Array(index + 1));
  return evalRecord({ images: 1, matrix: matrix.toJSON(), metrics: matrix.compute() }, CLASSES, {
    checkpointSha256: [HASH],
    split: 'val',
    inference: inferenceRecord({ mode: 'whole', scales: [1] }),
    shard: { index, count },
    ...extra,
  });
}

const files = (values: unknown[]) => values.map((value, i) => ({ file: `shard-${i}.json`, value }));

describe('merging shard records checks that they belong together', () => {
  it('names the missing shard index of n, and merges what is there when a partial merge is allowed', () => {
    expect(() => mergeEvalRecords(files([shard(0, 3), shard(2, 3)]))).toThrow(
      /^shard 1\/3 missing: 2 of 3 shards given$/,
    );
    const partial = mergeEvalRecords(files([shard(0, 3), shard(2, 3)]), { allowPartial: true });
    expect(partial.partial).toEqual({ missingShards: [1], unverified: [] });
    expect(partial.images).toBe(2);
    expect(partial.matrix.getCounts()[0]).toBe(1 + 3);
    const record = mergedEvalRecord(partial);
    expect(record.partial).toEqual({ missingShards: [1], unverified: [] });
    expect(record.shards).toEqual({ count: 3, indices: [0, 2] });
    // The partial merge and the missing shard merge again into the complete result.
    const complete = mergeEvalRecords(files([JSON.parse(JSON.stringify(record)), shard(1, 3)]));
    expect(complete.partial).toBeNull();
    expect(complete.matrix.getCounts()[0]).toBe(1 + 2 + 3);
  });

  it('refuses shards of different counts, repeated indices, other checkpoints, splits or settings', () => {
    expect(() => mergeEvalRecords(files([shard(0, 2), shard(1, 3)]))).toThrow(
      /^shard-1\.json: it is a shard of 3 but shard-0\.json is a shard of 2/,
    );
    expect(() => mergeEvalRecords(files([shard(0, 2), shard(0, 2)]), { allowPartial: true })).toThrow(
      /^shard-1\.json: shard 0\/2 is given twice$/,
    );
    expect(() =>
      mergeEvalRecords(files([shard(0, 2), shard(1, 2, { checkpointSha256: ['cd'.repeat(32)] })])),
    ).toThrow(
      /^shard-1\.json: its checkpoint \(sha256 cdcdcdcdcdcd\) differs from shard-0\.json's \(sha256 abababababab\)$/,
    );
    expect(() => mergeEvalRecords(files([shard(0, 2), shard(1, 2, { split: 'train' })]))).toThrow(
      /^shard-1\.json: its split \('train'\) differs from shard-0\.json's \('val'\)$/,
    );
    const flipped = shard(1, 2, { inference: inferenceRecord({ mode: 'whole', scales: [1], flip: true }) });
    expect(() => mergeEvalRecords(files([shard(0, 2), flipped]), { allowPartial: true })).toThrow(
      /^shard-1\.json: its inference settings \(.*"flip":true.*\) differs from shard-0\.json's \(.*"flip":false/,
    );
    const proposals = shard(1, 2, { inference: inferenceRecord({ mode: 'whole' }, 'auto') });
    expect(() => mergeEvalRecords(files([shard(0, 2), proposals]))).toThrow(/"proposals":"auto"/);
    // onnxruntime's probabilities agree with tfjs's to 1e-4, not bit for bit: no mixed merge.
    const onnx = shard(1, 2, {
      inference: inferenceRecord({ mode: 'whole', scales: [1] }, undefined, 'onnx'),
    });
    expect(() => mergeEvalRecords(files([shard(0, 2), onnx]))).toThrow(
      /^shard-1\.json: its inference settings \(.*"runtime":"onnx".*\) differs from shard-0\.json's \(.*"runtime":"tfjs"/,
    );
  });

  it('takes a record without a runtime (written before onnxruntime) as tfjs', () => {
    const { runtime: _r, ...settings } = inferenceRecord({ mode: 'whole', scales: [1] });
    const older = shard(1, 2, { inference: settings });
    expect(mergeEvalRecords(files([shard(0, 2), older])).partial).toBeNull();
    const onnx = shard(0, 2, { inference: inferenceRecord({ mode: 'whole' }, undefined, 'onnx') });
    expect(() => mergeEvalRecords(files([onnx, older]))).toThrow(/"runtime":"tfjs"/);
  });

  it('fills the engine defaults so that equal settings compare equal', () => {
    expect(inferenceRecord({ mode: 'slide' })).toEqual({
      mode: 'slide',
      crop: [512, 512],
      stride: [341, 341],
      scales: [1],
      flip: false,
      runtime: 'tfjs',
    });
    const a = shard(0, 2, { inference: inferenceRecord({ mode: 'slide' }) });
    const b = shard(1, 2, {
      inference: inferenceRecord({ mode: 'slide', crop: [512, 512], stride: [341, 341] }),
    });
    expect(mergeEvalRecords(files([a, b])).partial).toBeNull();
  });

  it('reads records written before the hash, and says they cannot be checked', () => {
    const { checkpointSha256: _h, inference: _i, ...old } = shard(1, 2);
    expect(() => mergeEvalRecords(files([shard(0, 2), old]))).toThrow(
      /^shard-1\.json: the record lacks the checkpoint's hash and inference settings \(written by an older semseg eval\)/,
    );
    const merged = mergeEvalRecords(files([shard(0, 2), old]), { allowPartial: true });
    const unverified = [{ file: 'shard-1.json', lacks: ["checkpoint's hash", 'inference settings'] }];
    expect(merged.partial).toEqual({ missingShards: [], unverified });
    // Merged again, the result still says what could not be checked.
    const again = mergeEvalRecords(
      [{ file: 'm.json', value: JSON.parse(JSON.stringify(mergedEvalRecord(merged))) }],
      {
        allowPartial: true,
      },
    );
    expect(again.partial).toEqual({ missingShards: [], unverified });
  });
});
