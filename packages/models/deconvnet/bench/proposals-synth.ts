// The README's figure: whole-image against proposal-wise inference on the project's synthetic
// VOC data, with a small DeconvNet trained in the paper's two stages (object-centred crops, then
// whole images). Run: node --conditions=source --import tsx bench/proposals-synth.ts [steps]
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { IMAGENET_NORMALIZATION, Rng, patchWasmKernels } from '@semseg/core';
import { Trainer, boxesFromLabels, predictImageAsync, predictWithProposals } from '@semseg/engine';
import { ConfusionMatrix } from '@semseg/metrics';
import {
  createBatchPipeline,
  createObjectCentredPipeline,
  generateSyntheticVoc,
  openVocDataset,
} from '@semseg/voc-data/node';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { DeconvNet } from '../src/index.js';

const require = createRequire(import.meta.url);
setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
await tf.setBackend('wasm');
patchWasmKernels();

const steps = Number(process.argv[2] ?? 150);
const numClasses = 6;
const classes = ['background', 'a', 'b', 'c', 'd', 'e'];
const dir = await mkdtemp(join(tmpdir(), 'semseg-deconvnet-'));
try {
  const voc = await generateSyntheticVoc(dir, { count: 64, numClasses, seed: 1 });
  const train = await openVocDataset(voc.root, { split: 'train', classes });
  const val = await openVocDataset(voc.root, { split: 'val', classes });
  const normalization = IMAGENET_NORMALIZATION;
  const model = new DeconvNet({ width: 1 / 8, numClasses, fc6Padding: 'same', dropout: 0 }, new Rng(0));
  const trainer = new Trainer({
    model,
    optimizer: { type: 'adam', weightDecay: 0 },
    schedule: { policy: 'fixed', baseLr: 1e-3, maxSteps: steps * 2 },
  });
  const size = { width: 48, height: 48 };
  const started = performance.now();
  // Stage 1: object-centred examples (box x1.2 resized to 54, random 48 crops).
  const objects = await createObjectCentredPipeline(train, {
    batchSize: 6,
    normalization,
    seed: 1,
    resize: { width: 54, height: 54 },
    crop: size,
  });
  let loss = 0;
  for (let s = 0; s < steps; s++) {
    const batch = (await objects.next())!;
    loss = (await trainer.trainStep(batch.images, batch.labels, [batch.batchSize, batch.height, batch.width]))
      .loss;
  }
  console.log(`stage 1: ${objects.index.objects.length} objects, ${steps} steps, loss ${loss.toFixed(3)}`);
  // Stage 2: whole images, random crops.
  const whole = createBatchPipeline(train, {
    batchSize: 6,
    normalization,
    mode: 'train',
    augment: { cropSize: size, scaleRange: [0.75, 1.25] },
    seed: 2,
    epochs: Number.POSITIVE_INFINITY,
  });
  for (let s = 0; s < steps; s++) {
    const batch = (await whole.next())!;
    loss = (await trainer.trainStep(batch.images, batch.labels, [batch.batchSize, batch.height, batch.width]))
      .loss;
  }
  await whole.close();
  console.log(
    `stage 2: ${steps} steps, loss ${loss.toFixed(3)} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );

  model.eval();
  const modes = ['whole image', 'proposals: auto', 'proposals: ground-truth boxes'] as const;
  const matrices = modes.map(() => new ConfusionMatrix(numClasses, { ignoreIndex: 255 }));
  let boxes = 0;
  for (let i = 0; i < val.ids.length; i++) {
    const sample = await val.read(i);
    const image = { width: sample.width, height: sample.height, data: sample.image };
    const options = { normalization };
    const plain = await predictImageAsync(model, image, options);
    const auto = await predictWithProposals(model, image, options, { boxes: 'auto', inputSize: [48, 48] });
    const truth = boxesFromLabels(sample.label, sample.width, sample.height);
    const oracle = await predictWithProposals(model, image, options, { boxes: truth, inputSize: [48, 48] });
    boxes += auto.boxes.length;
    [plain, auto, oracle].forEach((p, k) => matrices[k]!.update(p.labels, sample.label));
  }
  console.log(`val: ${val.ids.length} images, ${(boxes / val.ids.length).toFixed(1)} auto boxes per image`);
  modes.forEach((mode, k) => {
    const m = matrices[k]!.compute();
    console.log(
      `${mode}: mIoU ${(100 * m.meanIoU).toFixed(1)}%, pixel accuracy ${(100 * m.pixelAccuracy).toFixed(1)}%`,
    );
  });
  model.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
