// Reproduces the page's bundled demo checkpoint and sample images with the `semseg` CLI
// (apps/cli; build it first: `npm run build`):
//
//   semseg data synth <tmp>/data --count 240 --seed 7 --min-size 64 --max-size 160
//   semseg train --model fcn8s --width 1/16 --model-config '{"alignment":"compact","dropout":0.1}' ...
//
// then writes public/demo/{model.json,weights.bin} without the optimiser state (a third of the
// size) and public/samples/*.png (synthetic scenes of other seeds, lossless).
//
//   npm run train-demo-checkpoint -w apps/web                 (700 steps: ~20 min on 2 busy cores)
//   npm run train-demo-checkpoint -w apps/web -- --steps 20   (a quick check)
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, encodeCheckpoint } from '@semseg/core';
import { generateSyntheticVoc } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import { encode } from 'fast-png';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = resolve(appDir, '..', 'cli', 'dist', 'bin.js');
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '700' },
    seed: { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
    // Skip data and training: export an earlier run's final checkpoint (kept with --keep).
    'export-from': { type: 'string' },
  },
});

function semseg(args: string[]): void {
  process.stderr.write(`$ semseg ${args.map((a) => (/[\s{"]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  execFileSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
}

/** Sample images for the page: synthetic scenes (other seeds than training), lossless PNG. */
async function writeSamples(dir: string, scratch: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < 3; i++) {
    const data = await generateSyntheticVoc(join(scratch, `sample-${i}`), {
      seed: 1000 + i,
      count: 1,
      minSize: 120,
      maxSize: 160,
    });
    const s = data.samples[0]!;
    const png = encode({ width: s.width, height: s.height, data: s.rendered, channels: 3, depth: 8 });
    await writeFile(join(dir, `synthetic-${i + 1}.png`), png);
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'semseg-web-demo-'));
  try {
    const run = values['export-from'] ?? join(work, 'run');
    if (!values['export-from']) train(join(work, 'data'), run, values.steps!, values.seed!);
    await exportDemo(run, work);
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
}

/** The two CLI commands (README quotes them). */
function train(data: string, run: string, steps: string, seed: string): void {
  semseg(['data', 'synth', data, '--count', '240', '--seed', seed, '--min-size', '64', '--max-size', '160']);
  // biome-ignore format: one flag and its value per line reads like the command
  semseg([
    'train',
    '--model', 'fcn8s',
    '--width', '1/16',
    '--model-config', '{"alignment":"compact","dropout":0.1}',
    '--data', data,
    '--out', run,
    '--steps', steps,
    '--batch-size', '8',
    '--crop', '96',
    '--scale-range', '0.75,1.25',
    '--optimizer', 'adam',
    '--lr', '3e-3',
    '--weight-decay', '1e-4',
    '--seed', seed,
    '--backend', 'wasm',
    '--eval-every', steps,
    '--checkpoint-every', steps,
  ]);
}

/** Writes the run's final weights (no optimiser slots, no resume state) and the sample images. */
async function exportDemo(run: string, work: string): Promise<void> {
  // Decoding makes tensors, so tfjs needs a backend; cpu is enough for a copy.
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const final = join(run, 'final');
  const decoded = decodeCheckpoint(
    await readFile(join(final, 'model.json'), 'utf8'),
    await readFile(join(final, 'weights.bin')),
  );
  const encoded = await encodeCheckpoint(decoded.tensors, { ...decoded.meta, training: null });
  const demoDir = join(appDir, 'public', 'demo');
  await mkdir(demoDir, { recursive: true });
  await writeFile(join(demoDir, 'model.json'), `${JSON.stringify(encoded.modelJson)}\n`);
  await writeFile(join(demoDir, 'weights.bin'), encoded.weights);
  process.stderr.write(`wrote ${demoDir} (${(encoded.weights.byteLength / 1e6).toFixed(2)} MB of weights)\n`);
  await writeSamples(join(appDir, 'public', 'samples'), work);
  process.stderr.write(`wrote ${join(appDir, 'public', 'samples')}\n`);
}

await main();
