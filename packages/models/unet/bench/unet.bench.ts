// U-Net benchmark on wasm: the paper's network (width 1) on one 572x572 tile, a training step of
// a width-1/4 same-padded U-Net (batch 2, 128x128), and overlap-tile inference of a 700x700 image
// with the paper's tiles at width 1/4. `tsx bench/unet.bench.ts` (about a minute).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng, patchWasmKernels } from '@semseg/core';
import { Trainer, predictImage } from '@semseg/engine';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { UNet } from '../src/index.js';

const require = createRequire(import.meta.url);
setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
await tf.setBackend('wasm');
patchWasmKernels();

const rows: BenchRow[] = [];
{
  const model = new UNet({ numClasses: 2 }, new Rng(0)).eval();
  const x = tf.randomUniform([1, 572, 572, 3]) as tf.Tensor4D;
  const timing = await measure(
    async () => {
      const y = model.forward(x);
      await y.data();
      y.dispose();
    },
    { warmup: 1, iterations: 2 },
  );
  rows.push({ name: 'forward 572 -> 388, width 1', ...timing });
  x.dispose();
  model.dispose();
}
{
  const model = new UNet({ numClasses: 3, padding: 'same', width: 1 / 4, dropout: 0 }, new Rng(0));
  const rng = new Rng(1);
  const images = rng.fillUniform(new Float32Array(2 * 128 * 128 * 3), -1, 1);
  const labels = Uint8Array.from({ length: 2 * 128 * 128 }, () => rng.int(3));
  const trainer = new Trainer({
    model,
    optimizer: { type: 'rmsprop' },
    schedule: { policy: 'fixed', baseLr: 1e-3, maxSteps: 100 },
  });
  const step = await measure(() => trainer.trainStep(images, labels, [2, 128, 128]), {
    warmup: 1,
    iterations: 3,
  });
  model.eval();
  const x = tf.tensor4d(images, [2, 128, 128, 3]);
  const forward = await measure(
    async () => {
      const y = model.forward(x);
      await y.data();
      y.dispose();
    },
    { warmup: 1, iterations: 3 },
  );
  rows.push({ name: 'forward same 2x128x128, width 1/4', ...forward });
  rows.push({
    name: 'train step same 2x128x128, width 1/4',
    baseline: 'forward same 2x128x128, width 1/4',
    ...step,
  });
  x.dispose();
  trainer.dispose();
  model.dispose();
}
{
  const model = new UNet({ numClasses: 2, width: 1 / 4 }, new Rng(0)).eval();
  const rng = new Rng(2);
  const image = {
    width: 700,
    height: 700,
    data: Uint8Array.from({ length: 700 * 700 * 3 }, () => rng.int(256)),
  };
  const normalization = {
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
    scale: 1,
    channelOrder: 'rgb',
  } as const;
  const timing = await measure(
    () => predictImage(model, image, { normalization, mode: 'slide', crop: [572, 572] }),
    {
      warmup: 0,
      iterations: 2,
    },
  );
  rows.push({ name: 'overlap-tile 700x700, tiles 572 (4), width 1/4', ...timing });
  model.dispose();
}
addRatios(rows);
printTable('U-Net on wasm (one thread)', rows, ['name', 'medianMs', 'minMs', 'runs', 'ratio']);
writeResults('unet', { backend: 'wasm', rows });
