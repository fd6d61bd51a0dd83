// Inference on onnxruntime-node against tfjs-wasm (issue 23), full-width models at the papers' test
// sizes: FCN-8s at 500x500, DeepLab-LargeFOV (deeplab-v1) at 513x513, DeconvNet at 224x224.
//   1. images/s of the engine's inference path with the network on tfjs-wasm (one thread: tfjs
//      runs wasm single-threaded in Node) and on onnxruntime with 1 and 2 intra-op threads;
//   2. our onnx path against onnxruntime's own session.run on the same graph and input (the
//      pre- and post-processing must not eat the gain: bar 1.2x);
//   3. `semseg predict --runtime onnx` against `--runtime tfjs` on a folder of images (bar: 3x
//      faster on 2 cores, the same labels on >= 99.9% of pixels). Needs the built CLI.
// Environment:
//   SEMSEG_BENCH_MODELS      comma list of fcn8s, deeplab-v1, deconvnet (default all three)
//   SEMSEG_BENCH_RUNS        timed runs per row after one warm-up (default 2)
//   SEMSEG_BENCH_IMAGES      images for the CLI comparison (default 50; 0 skips it)
//   SEMSEG_BENCH_CLI_MODEL   the CLI comparison's model (default deeplab-v1)
//   SEMSEG_BENCH_CLI_SIZE    its images' side (default 321)
//   SEMSEG_BENCH_SCALE       multiply every size by this (a quick check: 0.25)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Normalization, Rng, type SegmentationModel, createModel } from '@semseg/core';
import { saveCheckpoint, useNodeBackend } from '@semseg/core/node';
import '@semseg/deconvnet';
import '@semseg/deeplab';
import { type Prediction, predictImageAsync } from '@semseg/engine';
import '@semseg/fcn';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import { decodeLabelPng } from '@semseg/voc-data';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { exportOnnx } from '../src/export.js';
import { loadOnnxRuntimeNode, nodeRuntime } from '../src/node/runtime.js';
import { FileGraph, OnnxSegmentationModel, describeGraph } from '../src/runtime/network.js';

const SCALE = Number(process.env.SEMSEG_BENCH_SCALE ?? 1);
const sized = (n: number, least = 32) => Math.max(least, Math.round(n * SCALE));
const MODELS: Record<string, { config: Record<string, unknown>; size: number; least?: number }> = {
  fcn8s: { config: {}, size: 500 },
  'deeplab-v1': { config: {}, size: 513 },
  // fc6 (7x7, valid) needs pool5 >= 7x7.
  deconvnet: { config: {}, size: 224, least: 224 },
};
const CHOSEN = (process.env.SEMSEG_BENCH_MODELS?.split(',') ?? Object.keys(MODELS))
  .map((m) => m.trim())
  .filter(Boolean);
const RUNS = Number(process.env.SEMSEG_BENCH_RUNS ?? 2);
const IMAGES = Number(process.env.SEMSEG_BENCH_IMAGES ?? 50);
const CLI_MODEL = process.env.SEMSEG_BENCH_CLI_MODEL ?? 'deeplab-v1';
const CLI_SIZE = sized(Number(process.env.SEMSEG_BENCH_CLI_SIZE ?? 321));
const CLASSES = 21;
const BIN = fileURLToPath(new URL('../../../apps/cli/dist/bin.js', import.meta.url));
const NORMALIZATION: Normalization = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  scale: 1,
  channelOrder: 'rgb',
};

interface Row extends BenchRow {
  model: string;
  runtime: string;
  threads: number;
  msPerImage?: number;
  imagesPerSecond?: number;
  /** Our onnx path's time over onnxruntime's own session.run for the same graph and threads. */
  overOrt?: number;
  /** Share of pixels with tfjs-wasm's labels. */
  agreement?: number;
  /** Distinct labels in tfjs-wasm's prediction (1 would make the agreement trivial). */
  classes?: number;
  note?: string;
}

function randomImage(size: number, rng: Rng) {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width: size, height: size, data };
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * FCN's score layers start at zero (the paper's initialisation), which makes every pixel the same
 * uniform guess and any label comparison trivial: zero-filled weights get small random values.
 */
function randomizeZeroWeights(model: SegmentationModel, seed: number): void {
  model.namedParameters().forEach(({ name, variable }, i) => {
    if (name.endsWith('bias') || name.includes('running')) return;
    const zero = tf.tidy(() => tf.max(tf.abs(variable)).dataSync()[0] === 0);
    if (zero) variable.assign(tf.tidy(() => tf.randomNormal(variable.shape, 0, 0.01, 'float32', seed + i)));
  });
}

async function timeRow(fn: () => Promise<unknown>): Promise<number> {
  const m = await measure(fn, { warmup: 1, iterations: RUNS, minTimeMs: 0, maxIterations: RUNS });
  return m.medianMs;
}

async function benchModel(name: string, rows: Row[]): Promise<void> {
  const { config, size: paperSize, least } = MODELS[name]!;
  const size = sized(paperSize, least);
  const model = createModel(
    name,
    { numClasses: CLASSES, ...config },
    { rng: new Rng(1) },
  ) as SegmentationModel;
  model.eval();
  randomizeZeroWeights(model, 5);
  const image = randomImage(size, new Rng(2));
  const options = { normalization: NORMALIZATION };
  let wasm: Prediction | undefined;
  const wasmMs = await timeRow(async () => {
    wasm = await predictImageAsync(model, image, options);
  });
  const base = `${name} ${size}x${size}`;
  rows.push({ name: `${base} tfjs-wasm`, model: name, runtime: 'tfjs-wasm', threads: 1, msPerImage: wasmMs });
  const start = performance.now();
  const graph = exportOnnx(model, { height: size, width: size, batch: 1 });
  const exportMs = performance.now() - start;
  model.dispose();
  const ort = await loadOnnxRuntimeNode();
  for (const threads of [1, 2]) {
    const runtime = await nodeRuntime({ threads });
    const session = await runtime.createSession(graph);
    const described = describeGraph(session, name);
    const onnx = new OnnxSegmentationModel(runtime, new FileGraph(described, name), { numClasses: CLASSES });
    let prediction: Prediction | undefined;
    const pathMs = await timeRow(async () => {
      prediction = await predictImageAsync(onnx, image, options);
    });
    // onnxruntime alone: the same normalised input, fed straight to session.run.
    const input = new ort.Tensor('float32', new Float32Array(size * size * 3).fill(0.1), [1, size, size, 3]);
    const ortMs = await timeRow(() => session.run({ [described.input]: input }));
    rows.push({
      name: `${base} onnxruntime session.run`,
      model: name,
      runtime: 'ort-session',
      threads,
      msPerImage: ortMs,
    });
    rows.push({
      name: `${base} onnx path`,
      baseline: `${base} tfjs-wasm`,
      model: name,
      runtime: 'onnx',
      threads,
      msPerImage: pathMs,
      overOrt: pathMs / ortMs,
      agreement: wasm && prediction ? agreement(wasm.labels, prediction.labels) : undefined,
      classes: wasm ? new Set(wasm.labels).size : undefined,
      note:
        threads === 1
          ? `export ${(exportMs / 1000).toFixed(1)} s, ${(graph.length / 2 ** 20).toFixed(0)} MiB`
          : undefined,
    });
    await onnx.release();
  }
}

/** `semseg predict` over a folder of same-size images on each runtime: seconds and label agreement. */
async function benchCli(rows: Row[]): Promise<void> {
  if (IMAGES <= 0) return;
  if (!existsSync(BIN)) {
    rows.push({
      name: 'cli',
      model: CLI_MODEL,
      runtime: 'cli',
      threads: 2,
      note: `${BIN} missing: npm run build`,
    });
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'semseg-onnx-bench-'));
  try {
    const model = createModel(CLI_MODEL, { numClasses: CLASSES }, { rng: new Rng(3) });
    randomizeZeroWeights(model, 6);
    const checkpoint = join(work, 'checkpoint');
    await saveCheckpoint(checkpoint, model.stateDict(), {
      architecture: { name: CLI_MODEL, config: { ...(model.config ?? {}) } },
      classes: Array.from({ length: CLASSES }, (_, i) => `class${i}`),
      palette: Array.from(
        { length: CLASSES },
        (_, i) => [(i * 40) % 256, (i * 90) % 256, (i * 150) % 256] as [number, number, number],
      ),
      normalization: NORMALIZATION,
    });
    model.dispose();
    const folder = join(work, 'images');
    mkdirSync(folder);
    const rng = new Rng(4);
    for (let i = 0; i < IMAGES; i++) {
      const { data } = randomImage(CLI_SIZE, rng);
      await sharp(Buffer.from(data), { raw: { width: CLI_SIZE, height: CLI_SIZE, channels: 3 } })
        .png()
        .toFile(join(folder, `image${String(i).padStart(3, '0')}.png`));
    }
    const seconds: Record<string, number> = {};
    for (const runtime of ['tfjs', 'onnx']) {
      const start = performance.now();
      const run = spawnSync(
        process.execPath,
        [
          BIN,
          'predict',
          folder,
          '--checkpoint',
          checkpoint,
          '--out',
          join(work, runtime),
          '--backend',
          'wasm',
          '--runtime',
          runtime,
          '--quiet',
        ],
        { encoding: 'utf8' },
      );
      if (run.status !== 0) throw new Error(`semseg predict --runtime ${runtime} failed: ${run.stderr}`);
      seconds[runtime] = (performance.now() - start) / 1000;
    }
    let same = 0;
    let pixels = 0;
    for (const file of readdirSync(join(work, 'tfjs'))) {
      const a = decodeLabelPng(new Uint8Array(readFileSync(join(work, 'tfjs', file))), file).indices;
      const b = decodeLabelPng(new Uint8Array(readFileSync(join(work, 'onnx', file))), file).indices;
      for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
      pixels += a.length;
    }
    const base = `semseg predict ${IMAGES} images ${CLI_SIZE}x${CLI_SIZE} ${CLI_MODEL}`;
    rows.push({
      name: `${base} --runtime tfjs`,
      model: CLI_MODEL,
      runtime: 'cli-tfjs',
      threads: 1,
      msPerImage: (seconds.tfjs! * 1000) / IMAGES,
    });
    rows.push({
      name: `${base} --runtime onnx`,
      baseline: `${base} --runtime tfjs`,
      model: CLI_MODEL,
      runtime: 'cli-onnx',
      threads: 2,
      msPerImage: (seconds.onnx! * 1000) / IMAGES,
      agreement: same / pixels,
      note: 'whole process: start, load, export, every image',
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await useNodeBackend('wasm');
const rows: Row[] = [];
for (const name of CHOSEN) {
  if (!MODELS[name]) throw new Error(`unknown model ${name}: ${Object.keys(MODELS).join(', ')}`);
  await benchModel(name, rows);
}
await benchCli(rows);
for (const row of rows) if (row.msPerImage) row.imagesPerSecond = 1000 / row.msPerImage;
addRatios(rows, 'msPerImage');
printTable(
  `onnxruntime vs tfjs-wasm (ratio = this row's time / its baseline's: below 1 is faster; numTensors ${tf.memory().numTensors})`,
  rows,
  ['name', 'threads', 'msPerImage', 'imagesPerSecond', 'ratio', 'overOrt', 'agreement', 'classes', 'note'],
);
writeResults('onnx-runtime', { scale: SCALE, runs: RUNS, rows });
