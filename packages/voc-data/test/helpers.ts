import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Normalization, Sample } from '../src/index.js';

export const IMAGENET: Normalization = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  scale: 1,
  channelOrder: 'rgb',
};

export const CAFFE: Normalization = {
  mean: [123.68, 116.779, 103.939],
  std: [1, 1, 1],
  scale: 255,
  channelOrder: 'bgr',
};

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'semseg-voc-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A sample whose pixel and label values encode their own coordinates, to follow them through transforms. */
export function coordinateSample(width: number, height: number): Sample {
  const image = new Uint8Array(width * height * 3);
  const label = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      image[p * 3] = x;
      image[p * 3 + 1] = y;
      image[p * 3 + 2] = (x * 7 + y * 13) % 251;
      label[p] = (x + y * 3) % 21;
    }
  }
  return { width, height, image, label };
}
