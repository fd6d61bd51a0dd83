// Forward time per 512x512 image of the torchvision-compatible models (deeplabv3-mobilenetv3-large,
// lraspp-mobilenetv3-large, deeplabv3-resnet50: issue 18's three) and pspnet-resnet50, on wasm and
// cpu in Node and on WebGPU in headless Chromium. Chromium's WebGPU here is SwiftShader (a CPU
// Vulkan): its rows check that the models run there and agree with the cpu backend (labels and
// softmax probabilities), they say nothing about GPU speed.
//
// `npm run bench` (after a build; the page bundles the packages' dist) times the three models on all
// three backends: 45 minutes on the loaded 2-core machine, 36 of them deeplabv3-resnet50 on cpu and
// on SwiftShader (one run each). Environment:
//   SEMSEG_BENCH_MODELS   comma-separated registry names (default: the four above)
//   SEMSEG_BENCH_SIZE     image side (default 512)
//   SEMSEG_BENCH_RUNS     timed wasm runs per model after one warm-up (default 3, ResNet models 1)
//   SEMSEG_BENCH_FULL=1   also time pspnet-resnet50 (not in issue 18's list) on cpu and on WebGPU
//   SEMSEG_CHROMIUM       the browser (default /usr/bin/chromium); missing: the WebGPU rows say why
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Module, Rng, type SegmentationModel, createModel, listModels } from '@semseg/core';
import '@semseg/pspnet';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import '../src/index.js';

const require = createRequire(import.meta.url);
setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);

const DEFAULT_MODELS = [
  'deeplabv3-mobilenetv3-large',
  'lraspp-mobilenetv3-large',
  'deeplabv3-resnet50',
  'pspnet-resnet50',
];
const MODELS = (process.env.SEMSEG_BENCH_MODELS?.split(',') ?? DEFAULT_MODELS).map((m) => m.trim());
const SIZE = Number(process.env.SEMSEG_BENCH_SIZE ?? 512);
const FULL = process.env.SEMSEG_BENCH_FULL === '1';
const RUNS = process.env.SEMSEG_BENCH_RUNS ? Number(process.env.SEMSEG_BENCH_RUNS) : undefined;
const CHROMIUM = process.env.SEMSEG_CHROMIUM ?? '/usr/bin/chromium';
const CLASSES = 21;
const SEED = 7;
/** The models issue 18 asks for on every backend. */
const REQUIRED = new Set(['deeplabv3-mobilenetv3-large', 'lraspp-mobilenetv3-large', 'deeplabv3-resnet50']);
/** Others take minutes per forward on the cpu backend and on SwiftShader: opt-in there. */
const optIn = (model: string) => !REQUIRED.has(model) && !FULL;
/** ResNet models take tens of seconds (wasm) to many minutes (cpu, SwiftShader): one timed run. */
const heavy = (model: string) => model.includes('resnet');
/** Pixels whose logits the page sends back for the comparison (every STRIDE-th pixel). */
const SAMPLE_STRIDE = 97;

interface Row extends BenchRow {
  model: string;
  backend: string;
  msPerImage?: number;
  runs?: number;
  /** The backend this row's outputs are compared with (cpu rows: wasm; WebGPU rows: cpu). */
  against?: string;
  /** Share of pixels with the same argmax as `against`. */
  labelsAgree?: number;
  /** Max |d softmax probability| against `against`, over every SAMPLE_STRIDE-th pixel. */
  maxDp?: number;
  relLogitDiff?: number;
  /** wasm rows: the logits' range and how many classes win somewhere (is the output varied?). */
  logitRange?: string;
  classesPredicted?: number;
  /** maxDp and relLogitDiff as text: the table's number format has three decimals. */
  dp?: string;
  relDiff?: string;
  note?: string;
}

const rows: Row[] = [];
const registered = new Set(listModels().map((m) => m.name));
/** Each Node backend's labels and sampled logits per model: the references of the comparisons. */
interface Output {
  labels: ArrayLike<number>;
  sample: ArrayLike<number>;
}
const outputs = { wasm: new Map<string, Output>(), cpu: new Map<string, Output>() };

function inputImage(): tf.Tensor4D {
  const data = new Rng(SEED + 1).fillNormal(new Float32Array(SIZE * SIZE * 3));
  return tf.tensor4d(data, [1, SIZE, SIZE, 3]);
}

/** Two images (batch norm in training needs more than one value per channel) for `calibrate`. */
const CALIBRATION_SIZE = 96;

/**
 * Random weights with batch norm at its initial statistics give nearly constant outputs, which
 * would make any two backends agree. One training-mode pass with every batch norm's momentum at 1
 * sets the running statistics to those of a calibration batch (as a checkpoint's would be
 * measured), so that the eval outputs vary per pixel. The page does the same.
 */
async function calibrate(model: Module): Promise<void> {
  const visit = (m: Module) => {
    if ('runningMean' in m && 'momentum' in m) (m as unknown as { momentum: number }).momentum = 1;
    for (const [, child] of m.children()) visit(child);
  };
  visit(model);
  const size = CALIBRATION_SIZE;
  const batch = tf.tensor4d(new Rng(SEED + 2).fillNormal(new Float32Array(2 * size * size * 3)), [
    2,
    size,
    size,
    3,
  ]);
  model.train();
  const y = (model as SegmentationModel).forward(batch);
  await y.data();
  tf.dispose([y, batch]);
  model.eval();
}

function sampleLogits(logits: Float32Array): Float32Array {
  const pixels = Math.ceil((SIZE * SIZE) / SAMPLE_STRIDE);
  const out = new Float32Array(pixels * CLASSES);
  for (let i = 0; i < pixels; i++)
    out.set(logits.subarray(i * SAMPLE_STRIDE * CLASSES, (i * SAMPLE_STRIDE + 1) * CLASSES), i * CLASSES);
  return out;
}

/** Softmax of each pixel's CLASSES logits. */
function softmax(logits: ArrayLike<number>): Float64Array {
  const p = new Float64Array(logits.length);
  for (let o = 0; o < logits.length; o += CLASSES) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < CLASSES; c++) max = Math.max(max, logits[o + c]!);
    let sum = 0;
    for (let c = 0; c < CLASSES; c++) sum += p[o + c] = Math.exp(logits[o + c]! - max);
    for (let c = 0; c < CLASSES; c++) p[o + c]! /= sum;
  }
  return p;
}

/** Fills the row's agreement with `reference`: labels, max |dp|, max |d logit| / max |logit|. */
function compare(row: Row, result: Output, reference: Output | undefined, against: string): void {
  if (!reference) return;
  row.against = against;
  let same = 0;
  for (let i = 0; i < reference.labels.length; i++) if (reference.labels[i] === result.labels[i]) same++;
  row.labelsAgree = same / reference.labels.length;
  const p = softmax(result.sample);
  const q = softmax(reference.sample);
  let maxDp = 0;
  for (let i = 0; i < p.length; i++) maxDp = Math.max(maxDp, Math.abs(p[i]! - q[i]!));
  row.maxDp = maxDp;
  row.dp = maxDp.toExponential(1);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < reference.sample.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(reference.sample[i]! - result.sample[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(reference.sample[i]!));
  }
  row.relLogitDiff = maxDiff / Math.max(maxAbs, 1e-12);
  row.relDiff = row.relLogitDiff.toExponential(1);
}

async function nodeRows(backend: 'wasm' | 'cpu'): Promise<void> {
  await tf.setBackend(backend);
  for (const name of MODELS) {
    const row: Row = { name: `${backend} ${name}`, model: name, backend };
    rows.push(row);
    if (!registered.has(name)) {
      row.note = 'not registered';
      continue;
    }
    if (backend === 'cpu' && optIn(name)) {
      row.note = 'skipped: minutes per image, not in the issue (SEMSEG_BENCH_FULL=1)';
      continue;
    }
    const model = createModel(name, { numClasses: CLASSES }, { rng: new Rng(SEED) });
    await calibrate(model);
    const x = inputImage();
    let last: Float32Array | null = null;
    // wasm: one warm-up (the heap grows to its peak), then 3 runs, 1 for the ResNet models
    // (tens of seconds each); cpu: one run (tens of seconds to minutes).
    const loops =
      backend === 'wasm'
        ? { warmup: 1, iterations: RUNS ?? (heavy(name) ? 1 : 3) }
        : { warmup: 0, iterations: 1 };
    const result = await measure(async () => {
      const y = model.forward(x);
      last = (await y.data()) as Float32Array;
      y.dispose();
    }, loops);
    row.msPerImage = result.medianMs;
    row.runs = result.runs;
    if (backend === 'cpu') row.baseline = `wasm ${name}`;
    if (last) {
      const logits: Float32Array = last;
      const labels = tf.tidy(() => tf.argMax(tf.tensor4d(logits, [1, SIZE, SIZE, CLASSES]), 3).dataSync());
      const output = { labels: Int32Array.from(labels), sample: sampleLogits(logits) };
      outputs[backend].set(name, output);
      if (backend === 'cpu') compare(row, output, outputs.wasm.get(name), 'wasm');
      // Random weights can give near-constant outputs: the spread says whether agreement means much.
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const v of logits) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      row.logitRange = `${min.toPrecision(3)}..${max.toPrecision(3)}`;
      row.classesPredicted = new Set(labels).size;
    }
    console.log(
      `${row.name}: ${result.medianMs.toFixed(0)} ms per image (${result.runs} runs)` +
        (row.labelsAgree === undefined
          ? ''
          : `; against wasm: labels ${row.labelsAgree}, max |dp| ${row.dp}`),
    );
    x.dispose();
    model.dispose();
  }
}

// The page: the same registry, weights from the same seed, the same input; WebGPU only.
const PAGE_ENTRY = `
import { Rng, createModel } from '@semseg/core';
import '@semseg/pspnet';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '../src/index.js';

async function calibrate(model, seed, size) {
  const visit = (m) => {
    if ('runningMean' in m && 'momentum' in m) m.momentum = 1;
    for (const [, child] of m.children()) visit(child);
  };
  visit(model);
  const batch = tf.tensor4d(new Rng(seed + 2).fillNormal(new Float32Array(2 * size * size * 3)), [2, size, size, 3]);
  model.train();
  const y = model.forward(batch);
  await y.data();
  tf.dispose([y, batch]);
  model.eval();
}

window.benchForward = async (name, size, classes, seed, stride, runs, calibrationSize) => {
  if (!(await tf.setBackend('webgpu'))) throw new Error('no WebGPU backend');
  const adapter = await navigator.gpu.requestAdapter();
  const model = createModel(name, { numClasses: classes }, { rng: new Rng(seed) });
  await calibrate(model, seed, calibrationSize);
  const x = tf.tensor4d(new Rng(seed + 1).fillNormal(new Float32Array(size * size * 3)), [1, size, size, 3]);
  const times = [];
  let logits;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const y = model.forward(x);
    logits = await y.data();
    times.push(performance.now() - t0);
    y.dispose();
  }
  const labels = [];
  for (let p = 0; p < size * size; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[p * classes + c] > logits[p * classes + best]) best = c;
    labels.push(best);
  }
  const sample = [];
  for (let p = 0; p < size * size; p += stride) for (let c = 0; c < classes; c++) sample.push(logits[p * classes + c]);
  x.dispose();
  model.dispose();
  const info = adapter && adapter.info ? adapter.info : {};
  return { times, labels, sample, adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown', backend: tf.getBackend() };
};
`;

/**
 * Node-only paths (reading weights by file path) sit behind dynamic imports the page never takes:
 * their Node built-ins bundle as empty CommonJS modules.
 */
const nodeBuiltinsStub = {
  name: 'node-builtins-stub',
  setup(build: {
    onResolve(o: { filter: RegExp }, f: (a: { path: string }) => { path: string; namespace: string }): void;
    onLoad(o: { filter: RegExp; namespace: string }, f: () => { contents: string; loader: 'js' }): void;
  }) {
    build.onResolve(
      { filter: /^(node:)?(fs|fs\/promises|path|url|os|module|worker_threads|crypto)$/ },
      (args) => ({
        path: args.path,
        namespace: 'node-stub',
      }),
    );
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({
      contents: 'module.exports = {};',
      loader: 'js',
    }));
  },
};

async function bundlePage(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    stdin: { contents: PAGE_ENTRY, resolveDir: dirname(fileURLToPath(import.meta.url)), loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
    plugins: [nodeBuiltinsStub],
  });
  return result.outputFiles[0]!.text;
}

interface PageResult {
  times: number[];
  labels: number[];
  sample: number[];
  adapter: string;
  backend: string;
}

async function webgpuRows(): Promise<void> {
  const backend = 'webgpu (Chromium, SwiftShader)';
  const add = (name: string, note?: string): Row => {
    const row: Row = { name: `webgpu ${name}`, model: name, backend };
    if (note) row.note = note;
    rows.push(row);
    return row;
  };
  if (!existsSync(CHROMIUM)) {
    for (const name of MODELS) add(name, `no Chromium at ${CHROMIUM}`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const script = await bundlePage();
  const profile = mkdtempSync(join(tmpdir(), 'semseg-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    // localhost is a secure context (WebGPU needs one); the requests never leave the browser.
    await page.route('http://localhost/**', (route) => {
      const url = route.request().url();
      if (url.endsWith('/bench.js')) return route.fulfill({ contentType: 'text/javascript', body: script });
      return route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><script type="module" src="/bench.js"></script>',
      });
    });
    await page.goto('http://localhost/');
    try {
      await page.waitForFunction(() => 'benchForward' in window, undefined, { timeout: 60_000 });
    } catch {
      for (const name of MODELS) add(name, `the page did not load: ${pageErrors.join('; ') || 'timeout'}`);
      return;
    }
    for (const name of MODELS) {
      if (!registered.has(name)) {
        add(name, 'not registered');
        continue;
      }
      if (optIn(name)) {
        add(name, 'skipped: minutes per image on SwiftShader, not in the issue (SEMSEG_BENCH_FULL=1)');
        continue;
      }
      const row = add(name);
      try {
        // Run 1 compiles the shaders; run 2 is the timing. ResNet models: run 1 only (a quarter of
        // an hour on SwiftShader), shader compilation included.
        const runs = heavy(name) ? 1 : 2;
        const result = await page.evaluate(
          ([n, size, classes, seed, stride, r, calibration]) =>
            (
              window as unknown as {
                benchForward(...a: unknown[]): Promise<PageResult>;
              }
            ).benchForward(n, size, classes, seed, stride, r, calibration),
          [name, SIZE, CLASSES, SEED, SAMPLE_STRIDE, runs, CALIBRATION_SIZE] as const,
        );
        row.msPerImage = result.times.at(-1)!;
        row.baseline = `wasm ${name}`;
        row.runs = 1;
        row.note =
          runs === 1
            ? `one run, shader compilation included; adapter: ${result.adapter}`
            : `first run (shader compilation) ${result.times[0]!.toFixed(0)} ms; adapter: ${result.adapter}`;
        const [reference, against] = outputs.cpu.has(name)
          ? [outputs.cpu.get(name), 'cpu']
          : [outputs.wasm.get(name), 'wasm'];
        compare(row, result, reference, against);
        console.log(
          `${row.name}: ${row.msPerImage.toFixed(0)} ms per image; against ${against}: labels ${row.labelsAgree}, max |dp| ${row.dp}; ${row.note}`,
        );
      } catch (error) {
        row.note = `failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
        console.log(`${row.name}: ${row.note}`);
      }
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const started = performance.now();
await nodeRows('wasm');
await nodeRows('cpu');
await webgpuRows();
addRatios(rows, 'msPerImage');
printTable(
  `Forward per ${SIZE}x${SIZE} image (batch 1, ${CLASSES} classes, seeded random weights); ratio = ms / wasm's ms; labels agreeing, max |dp| and max |d logit| / max |logit| against the backend named in 'against'`,
  rows,
  [
    'name',
    'msPerImage',
    'ratio',
    'runs',
    'logitRange',
    'classesPredicted',
    'against',
    'labelsAgree',
    'dp',
    'relDiff',
    'note',
  ],
);
writeResults('torchvision-forward', {
  size: SIZE,
  classes: CLASSES,
  rows,
  totalSeconds: (performance.now() - started) / 1000,
});
