// Reproduces the page's bundled demo: trains a small FCN-8s on synthetic VOC-layout data with
// @semseg/engine's runTraining (the `semseg train` CLI had not landed when this was written), then
// writes public/demo/{model.json,weights.bin} without the optimiser state, and public/samples/*.png.
//
//   npm run train-demo-checkpoint -w apps/web            (about 5 minutes on 2 cores, wasm)
//   npm run train-demo-checkpoint -w apps/web -- --steps 50   (a quick check)
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend } from '@semseg/core';
import { decodeCheckpoint, encodeCheckpoint } from '@semseg/core';
import { FINAL, runTraining } from '@semseg/engine/node';
import '@semseg/fcn';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import { encode } from 'fast-png';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1200' },
    seed: { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const seed = Number(values.seed);

/** The settings of the committed demo checkpoint (README quotes them). */
export const DEMO_TRAINING = {
  model: 'fcn8s',
  modelConfig: { width: 1 / 16, alignment: 'compact', dropout: 0.1 },
  images: 240,
  imageSizes: [64, 160] as const,
  batchSize: 8,
  crop: [96, 96] as [number, number],
  scaleRange: [0.75, 1.25] as [number, number],
  optimizer: { type: 'adam' as const, weightDecay: 1e-4 },
  schedule: { policy: 'poly' as const, baseLr: 3e-3, power: 0.9 },
};

async function useWasm(): Promise<void> {
  const require = createRequire(import.meta.url);
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  await selectBackend('wasm', [
    {
      name: 'wasm',
      load: async () => {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(`${wasmDir}/`);
      },
    },
  ]);
}

/** Sample images for the page: synthetic scenes (other seeds than training), lossless PNG. */
async function writeSamples(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), 'semseg-web-samples-'));
  try {
    for (let i = 0; i < 3; i++) {
      const data = await generateSyntheticVoc(join(scratch, String(i)), {
        seed: 1000 + i,
        count: 1,
        minSize: 120,
        maxSize: 160,
      });
      const sample = data.samples[0]!;
      const png = encode({
        width: sample.width,
        height: sample.height,
        data: sample.rendered,
        channels: 3,
        depth: 8,
      });
      await writeFile(join(dir, `synthetic-${i + 1}.png`), png);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'semseg-web-demo-'));
  const t = DEMO_TRAINING;
  try {
    const data = await generateSyntheticVoc(join(work, 'data'), {
      seed,
      count: t.images,
      minSize: t.imageSizes[0],
      maxSize: t.imageSizes[1],
    });
    await useWasm();
    const started = performance.now();
    const result = await runTraining({
      model: t.model,
      modelConfig: t.modelConfig,
      data: data.root,
      out: join(work, 'run'),
      steps,
      batchSize: t.batchSize,
      crop: t.crop,
      scaleRange: t.scaleRange,
      flipProbability: 0.5,
      optimizer: t.optimizer,
      schedule: t.schedule,
      seed,
      logEvery: 25,
      checkpointEvery: steps,
      evalEvery: steps,
      backend: 'wasm',
      onEvent: (event) => {
        if (event.type === 'step' && (event.step % 50 === 0 || event.step === 1)) {
          const seconds = ((performance.now() - started) / 1000).toFixed(0);
          process.stderr.write(
            `step ${event.step}/${event.totalSteps} loss ${event.loss.toFixed(4)} (${seconds} s)\n`,
          );
        }
        if (event.type === 'eval') {
          const m = event.summary.metrics;
          process.stderr.write(
            `val: pixel accuracy ${m.pixelAccuracy.toFixed(4)}, mIoU ${m.meanIoU.toFixed(4)}\n`,
          );
        }
      },
    });
    process.stderr.write(
      `trained ${result.step} steps in ${((performance.now() - started) / 60000).toFixed(1)} min\n`,
    );

    // The page needs the weights only: drop the optimiser slots and the resume state.
    const final = join(work, 'run', FINAL);
    const decoded = decodeCheckpoint(
      await readFile(join(final, 'model.json'), 'utf8'),
      await readFile(join(final, 'weights.bin')),
    );
    const encoded = await encodeCheckpoint(decoded.tensors, { ...decoded.meta, training: null });
    const demoDir = join(appDir, 'public', 'demo');
    await mkdir(demoDir, { recursive: true });
    await writeFile(join(demoDir, 'model.json'), `${JSON.stringify(encoded.modelJson)}\n`);
    await writeFile(join(demoDir, 'weights.bin'), encoded.weights);
    process.stderr.write(
      `wrote ${demoDir} (${(encoded.weights.byteLength / 1e6).toFixed(2)} MB of weights)\n`,
    );
    await writeSamples(join(appDir, 'public', 'samples'));
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
}

await main();
