import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CAFFE_VGG_NORMALIZATION,
  CheckpointError,
  type CheckpointMeta,
  Rng,
  decodeCheckpoint,
} from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node/index.js';
import { sha256Hex } from '../src/sha256.js';

const meta: CheckpointMeta = {
  architecture: { name: 'tiny', config: {} },
  classes: ['background', 'thing'],
  palette: [
    [0, 0, 0],
    [128, 0, 0],
  ],
  normalization: CAFFE_VGG_NORMALIZATION,
  training: null,
};

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'semseg-sha-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const nodeDigest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function save(path: string): Promise<void> {
  const rng = new Rng(3);
  const weight = tf.tensor(rng.fillNormal(new Float32Array(1000)), [10, 100]);
  await saveCheckpoint(path, { weight }, meta);
  weight.dispose();
}

async function loadError(path: string): Promise<CheckpointError> {
  const baseline = tf.memory().numTensors;
  const error = await loadCheckpoint(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect(tf.memory().numTensors).toBe(baseline);
  return error as CheckpointError;
}

describe('the pure-TS SHA-256 (browser path) equals node:crypto', () => {
  it('on the FIPS 180-2 examples', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(sha256Hex(text('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(text(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('on every length 0..200 (all padding cases) and on 1 MB', () => {
    const rng = new Rng(7);
    for (let n = 0; n <= 200; n++) {
      const bytes = new Uint8Array(n).map(() => Math.floor(rng.next() * 256));
      expect(sha256Hex(bytes)).toBe(nodeDigest(bytes));
    }
    const big = new Uint8Array(1 << 20).map(() => Math.floor(rng.next() * 256));
    expect(sha256Hex(big)).toBe(nodeDigest(big));
    // A view into a larger buffer hashes only its own bytes.
    expect(sha256Hex(big.subarray(13, 1013))).toBe(nodeDigest(big.subarray(13, 1013)));
  });
});

describe('model.json records the SHA-256 of weights.bin', () => {
  it('writes the digest of the bytes on disk', async () => {
    const path = join(dir, 'c');
    await save(path);
    const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
    expect(json.weightsSha256).toBe(nodeDigest(await readFile(join(path, 'weights.bin'))));
  });

  it('one flipped bit in the middle of weights.bin is a one-line error naming the file', async () => {
    const path = join(dir, 'c');
    await save(path);
    const bytes = await readFile(join(path, 'weights.bin'));
    bytes[bytes.length >> 1]! ^= 0x10;
    await writeFile(join(path, 'weights.bin'), bytes);
    const error = await loadError(path);
    expect(error.file).toBe(join(path, 'weights.bin'));
    expect(error.message).toMatch(
      /weights\.bin: SHA-256 [0-9a-f]{64} does not match [0-9a-f]{64} recorded in .*model\.json/,
    );
    expect(error.message).not.toContain('\n');
  });

  it('a truncated weights.bin is a one-line error naming the file', async () => {
    const path = join(dir, 'c');
    await save(path);
    const bytes = await readFile(join(path, 'weights.bin'));
    await writeFile(join(path, 'weights.bin'), bytes.subarray(0, 2000));
    const error = await loadError(path);
    expect(error.file).toBe(join(path, 'weights.bin'));
    expect(error.message).toMatch(/has 2000 bytes but .*model\.json describes 4000 \(truncated/);
    expect(error.message).not.toContain('\n');
  });

  it('the browser path (decodeCheckpoint, pure-TS digest) rejects the altered bytes too', async () => {
    const path = join(dir, 'c');
    await save(path);
    const text = await readFile(join(path, 'model.json'), 'utf8');
    const bytes = new Uint8Array(await readFile(join(path, 'weights.bin')));
    const ok = decodeCheckpoint(text, bytes);
    tf.dispose(Object.values(ok.tensors));
    bytes[1234]! ^= 1;
    const baseline = tf.memory().numTensors;
    expect(() => decodeCheckpoint(text, bytes)).toThrow(/^weights\.bin: SHA-256 .* recorded in model\.json/);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('an old checkpoint without the field still loads', async () => {
    const path = join(dir, 'c');
    await save(path);
    const { weightsSha256, ...old } = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
    expect(weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(join(path, 'model.json'), JSON.stringify(old));
    const loaded = await loadCheckpoint(path);
    expect(loaded.tensors.weight!.shape).toEqual([10, 100]);
    tf.dispose(Object.values(loaded.tensors));
  });

  it('a malformed digest in model.json is a metadata error', async () => {
    const path = join(dir, 'c');
    await save(path);
    const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
    json.weightsSha256 = 'xyz';
    await writeFile(join(path, 'model.json'), JSON.stringify(json));
    const error = await loadError(path);
    expect(error.message).toMatch(
      /model\.json: invalid checkpoint metadata: weightsSha256: must be 64 lowercase hex digits/,
    );
  });
});
