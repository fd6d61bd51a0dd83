// FC-DenseNet benchmark on wasm: forward of the three variants on a 224x224 crop (the paper's
// training crop) and a training step of FC-DenseNet103 (RMSprop, batch 1) at 64x64 against its
// forward there (a 1.1 GB wasm heap at 64x64, 3.0 GB at 128x128). `tsx bench/fc-densenet.bench.ts`
// (about a minute on a quiet machine).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng, patchWasmKernels } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { FcDenseNet } from '../src/index.js';

const require = createRequire(import.meta.url);
setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
await tf.setBackend('wasm');
patchWasmKernels();

const size = 224;
const rng = new Rng(1);
const images = rng.fillUniform(new Float32Array(size * size * 3), -1, 1);
const labels = Uint8Array.from({ length: size * size }, () => rng.int(11));
const rows: BenchRow[] = [];
for (const variant of ['56', '67', '103'] as const) {
  const model = new FcDenseNet(variant, {}, new Rng(0)).eval();
  const x = tf.tensor4d(images, [1, size, size, 3]);
  const timing = await measure(
    async () => {
      const y = model.forward(x);
      await y.data();
      y.dispose();
    },
    { warmup: 1, iterations: 1 },
  );
  rows.push({ name: `fc-densenet${variant} forward 1x224x224`, ...timing });
  x.dispose();
  if (variant === '103') {
    const small = 64;
    const xs = tf.tensor4d(images.subarray(0, small * small * 3), [1, small, small, 3]);
    const forward = await measure(
      async () => {
        const y = model.forward(xs);
        await y.data();
        y.dispose();
      },
      { warmup: 1, iterations: 2 },
    );
    rows.push({ name: 'fc-densenet103 forward 1x64x64', ...forward });
    xs.dispose();
    const trainer = new Trainer({
      model,
      optimizer: { type: 'rmsprop', alpha: 0.9, epsilon: 1e-6, weightDecay: 2e-4 },
      schedule: { policy: 'fixed', baseLr: 1e-3, maxSteps: 10 },
    });
    const step = await measure(
      () =>
        trainer.trainStep(images.subarray(0, small * small * 3), labels.subarray(0, small * small), [
          1,
          small,
          small,
        ]),
      { warmup: 1, iterations: 2 },
    );
    rows.push({
      name: 'fc-densenet103 train step 1x64x64',
      baseline: 'fc-densenet103 forward 1x64x64',
      ...step,
    });
    trainer.dispose();
  }
  model.dispose();
}
addRatios(rows);
printTable('FC-DenseNet on wasm (one thread)', rows, ['name', 'medianMs', 'minMs', 'runs', 'ratio']);
writeResults('fc-densenet', { backend: 'wasm', rows });
