// What Node gives for the same checkpoint and image: @semseg/engine's predictImage on the cpu
// backend (the inference path `semseg predict` runs), and its CRF refinement.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rgb } from '@semseg/core';
import type { CrfOption } from '@semseg/engine';
import { predictImage, refineWithCrf } from '@semseg/engine';
import { loadModel } from '@semseg/engine/node';
import '@semseg/fcn';
import * as tf from '@tensorflow/tfjs-core';
import { decode } from 'fast-png';

export interface Reference {
  width: number;
  height: number;
  rgb: Uint8Array;
  palette: Rgb[];
  labels: Uint8Array;
  crfLabels: Uint8Array;
}

export async function nodeReference(
  checkpointDir: string,
  pngPath: string,
  crf: CrfOption,
): Promise<Reference> {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const png = decode(await readFile(pngPath));
  if (png.channels !== 3 || png.depth !== 8) throw new Error(`${pngPath}: expected an 8-bit RGB PNG`);
  const image = { width: png.width, height: png.height, data: png.data as Uint8Array };
  const { model, meta } = await loadModel(checkpointDir);
  try {
    model.eval();
    const prediction = predictImage(model, image, { normalization: meta.normalization });
    const refined = refineWithCrf(image, prediction, crf);
    return {
      width: image.width,
      height: image.height,
      rgb: image.data,
      palette: meta.palette,
      labels: prediction.labels,
      crfLabels: refined.labels,
    };
  } finally {
    model.dispose();
  }
}

export const DEMO_CHECKPOINT = (appDir: string) => join(appDir, 'public', 'demo');
