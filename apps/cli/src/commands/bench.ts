import { Rng, createModel } from '@semseg/core';
import { runDenseCrf, unaryFromProbabilities } from '@semseg/crf';
import { closeTrainer, createTrainer, effectiveThreads } from '@semseg/engine/node';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../backends/index.js';
import { UsageError } from '../errors.js';
import { writeOutput } from '../io/files.js';
import '../models.js';
import { option } from '../options/commander.js';
import { parsePositiveInt, parseWidth } from '../options/numbers.js';
import { threadsOption } from '../options/threads.js';
import { activateBackend } from './backend-option.js';
import { replicaPlugins } from './replica-plugins.js';

interface BenchFlags {
  backends: BackendChoice[];
  size: number;
  batch: number;
  width: number;
  repeats: number;
  json?: string;
  threads: number;
}

interface BenchRow {
  suite: string;
  backend: string;
  case: string;
  medianMs: number;
  perImageMs: number;
  /** Threads of a training step (replicas on wasm and cpu). */
  threads?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time of `fn` over `repeats` runs after one warm-up run. */
async function time(fn: () => Promise<void> | void, repeats: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

function parseBackendList(text: string): BackendChoice[] {
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(BACKEND_CHOICES as readonly string[]).includes(name) || name === 'auto') {
      throw new UsageError(
        `unknown backend '${name}'; use a list of ${BACKEND_CHOICES.filter((b) => b !== 'auto').join(', ')}`,
      );
    }
  }
  return names as BackendChoice[];
}

async function modelSuite(backend: BackendChoice, flags: BenchFlags): Promise<BenchRow[]> {
  const selection = await activateBackend(backend);
  const { size, batch, repeats } = flags;
  const model = createModel(
    'fcn8s',
    { numClasses: 21, width: flags.width, alignment: 'compact' },
    { rng: new Rng(0) },
  );
  const rng = new Rng(1);
  const images = new Float32Array(batch * size * size * 3);
  rng.fillNormal(images);
  const labels = new Uint8Array(batch * size * size).map((_, i) => (i * 7) % 21);
  // Training steps over --threads replica threads on wasm and cpu (one on the other backends).
  const trainer = await createTrainer({
    model,
    architecture: { name: 'fcn8s', config: { ...(model.config ?? {}), numClasses: 21 } },
    threads: flags.threads,
    plugins: replicaPlugins(),
    optimizer: { type: 'sgd', momentum: 0.9 },
    schedule: { policy: 'fixed', baseLr: 1e-3, maxSteps: 1 },
  });
  const threads = effectiveThreads(flags.threads);
  try {
    const x = tf.tensor4d(images, [batch, size, size, 3]);
    const forward = await time(async () => {
      model.eval();
      const y = model.forward(x);
      await y.data();
      y.dispose();
    }, repeats);
    x.dispose();
    const step = await time(async () => {
      await trainer.trainStep(images, labels, [batch, size, size]);
    }, repeats);
    const name = `fcn8s width ${flags.width} ${batch}x${size}x${size}`;
    return [
      {
        suite: 'model',
        backend: selection.name,
        case: `forward ${name}`,
        medianMs: forward,
        perImageMs: forward / batch,
      },
      {
        suite: 'model',
        backend: selection.name,
        case: `train step ${name}`,
        threads: Math.min(threads, batch),
        medianMs: step,
        perImageMs: step / batch,
      },
    ];
  } finally {
    await closeTrainer(trainer);
    trainer.dispose();
    model.dispose();
  }
}

async function crfSuite(flags: BenchFlags): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const side of [flags.size, flags.size * 2]) {
    const classes = 21;
    const rng = new Rng(2);
    const probabilities = new Float32Array(side * side * classes);
    rng.fillUniform(probabilities);
    for (let p = 0; p < side * side; p++) {
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += probabilities[p * classes + c]!;
      for (let c = 0; c < classes; c++) probabilities[p * classes + c]! /= sum;
    }
    const rgb = new Uint8Array(side * side * 3).map((_, i) => (i * 37) % 256);
    const unary = unaryFromProbabilities(probabilities, classes);
    const ms = await time(() => {
      runDenseCrf({ width: side, height: side, labels: classes, unary, rgb }, 'deeplabV1');
    }, flags.repeats);
    rows.push({
      suite: 'crf',
      backend: 'js',
      case: `deeplabV1, 10 iterations, ${side}x${side}x${classes}`,
      medianMs: ms,
      perImageMs: ms,
    });
  }
  return rows;
}

async function bench(flags: BenchFlags): Promise<void> {
  const rows: BenchRow[] = [];
  for (const backend of flags.backends) rows.push(...(await modelSuite(backend, flags)));
  rows.push(...(await crfSuite(flags)));
  const header = ['suite', 'backend', 'case', 'median ms', 'ms / image'];
  const cells = rows.map((r) => [r.suite, r.backend, r.case, r.medianMs.toFixed(1), r.perImageMs.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i >= 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  process.stdout.write(`${[line(header), ...cells.map(line)].join('\n')}\n`);
  if (flags.json)
    await writeOutput(
      flags.json,
      `${JSON.stringify({ node: process.versions.node, flags, rows }, null, 2)}\n`,
    );
}

export function benchCommand(): Command {
  const command = new Command('bench')
    .summary('time forward, training step and CRF on this machine')
    .description(
      'Runs the benchmark suites: an FCN-8s forward pass and training step (median of --repeats ' +
        'after a warm-up) on each backend of --backends, and the dense CRF (DeepLab settings) at two ' +
        'sizes. Random inputs; no dataset needed.',
    )
    .addOption(
      option('--backends <list>', 'comma-separated backends to time', parseBackendList).default(
        ['wasm'],
        'wasm',
      ),
    )
    .addOption(option('--size <px>', 'square input side', parsePositiveInt).default(64))
    .addOption(option('--batch <n>', 'images per forward/step', parsePositiveInt).default(4))
    .addOption(option('--width <w>', 'VGG16 channel multiplier', parseWidth).default(0.125, '1/8'))
    .addOption(option('--repeats <n>', 'timed runs per case', parsePositiveInt).default(3))
    .addOption(threadsOption())
    .option('--json <file>', 'also write the rows as JSON');
  command.action(() => bench(command.opts<BenchFlags>()));
  return command;
}
