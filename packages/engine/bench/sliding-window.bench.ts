/**
 * Peak memory of sliding-window inference on a Cityscapes-size image (2048x1024, 19 classes,
 * 512x512 windows at stride 341: 3 x 6 = 18 windows), before (every window's full-size tensors
 * alive until the image is done, bench/slide-before.ts) and after (one running sum per image).
 * Each variant runs in its own process on the cpu backend, whose tensors live in the process
 * heap, so its peak RSS is the measure. The model is a 1x1 convolution: the network's own
 * memory is negligible and what is measured is the accumulation.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '@semseg/core';
import { printTable, writeResults } from '@semseg/tooling/bench';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { slideLogits } from '../src/inference/predict.js';
import { PixelModel } from '../test/helpers.js';
import { slideLogitsBefore } from './slide-before.js';

const WIDTH = 2048;
const HEIGHT = 1024;
const CLASSES = 19;
const OPTIONS = {
  crop: [512, 512] as [number, number],
  stride: [341, 341] as [number, number],
  batchSize: 1,
};
type Variant = 'before' | 'after';

interface ChildResult {
  variant: Variant;
  peakRssMB: number;
  baselineRssMB: number;
  seconds: number;
  checksum: number;
}

async function child(variant: Variant): Promise<void> {
  await tf.setBackend('cpu');
  const rng = new Rng(1);
  const model = new PixelModel(CLASSES, rng);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(HEIGHT * WIDTH * 3)), [1, HEIGHT, WIDTH, 3]);
  const baselineRssMB = process.resourceUsage().maxRSS / 1024;
  const start = performance.now();
  const logits =
    variant === 'after'
      ? slideLogits(model, x, OPTIONS)
      : tf.tidy(() => slideLogitsBefore(model, x, OPTIONS));
  const values = logits.dataSync();
  const seconds = (performance.now() - start) / 1000;
  let checksum = 0;
  for (let i = 0; i < values.length; i += 997) checksum += values[i]!;
  const result: ChildResult = {
    variant,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    baselineRssMB,
    seconds,
    checksum,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function run(variant: Variant): ChildResult {
  const file = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [...process.execArgv, file, '--child', variant], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (out.status !== 0) throw new Error(`${variant} failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  await child(process.argv[childIndex + 1] as Variant);
} else {
  const imageMB = (WIDTH * HEIGHT * CLASSES * 4) / 2 ** 20;
  const rows = (['before', 'after'] as const).map((variant) => {
    const r = run(variant);
    return {
      name: variant,
      peakRssMB: r.peakRssMB,
      inputRssMB: r.baselineRssMB,
      addedMB: r.peakRssMB - r.baselineRssMB,
      imageBuffers: (r.peakRssMB - r.baselineRssMB) / imageMB,
      seconds: r.seconds,
      checksum: r.checksum,
    };
  });
  if (rows[0]!.checksum !== rows[1]!.checksum) throw new Error('before and after give different logits');
  printTable(
    `sliding window, ${WIDTH}x${HEIGHT}x${CLASSES}, 512 windows at stride 341 (18), cpu backend; one H x W x C buffer = ${imageMB.toFixed(0)} MB`,
    rows,
    ['name', 'peakRssMB', 'inputRssMB', 'addedMB', 'imageBuffers', 'seconds'],
  );
  writeResults('engine-sliding-window', { width: WIDTH, height: HEIGHT, classes: CLASSES, ...OPTIONS, rows });
}
