import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { PresetName } from '@semseg/crf';
import { crfPresetFor, predictImageAsync, refineWithCrf } from '@semseg/engine';
import { LATEST, loadModel, readTrainLog, runEvaluation, runTraining } from '@semseg/engine/node';
import { completePalette } from '@semseg/voc-data';
import { generateSyntheticVoc, readImageFile } from '@semseg/voc-data/node';
import { Command } from 'commander';
import type { BackendChoice } from '../backends/index.js';
import { majorityClassMiou } from '../demo/baseline.js';
import { curvesFromLog, demoReport, summaryLines } from '../demo/report.js';
import { UsageError } from '../errors.js';
import { writeOutput } from '../io/files.js';
import { labelPng } from '../io/label-png.js';
import '../models.js';
import { option } from '../options/commander.js';
import { parsePositiveInt, parsePositiveNumber, parseWidth } from '../options/numbers.js';
import { TrainProgress, formatDuration } from '../progress.js';
import { renderChartPng } from '../render/chart.js';
import { renderOverlay } from '../render/overlay.js';
import { activateBackend, backendOption, describeSelection } from './backend-option.js';
import { interruptSignal } from './interrupt.js';

interface DemoFlags {
  out: string;
  minutes: number;
  backend: BackendChoice;
  images: number;
  width: number;
  seed: number;
}

const MARKER = 'demo-report.md';
const WARMUP_STEPS = 6;
const BATCH_SIZE = 8;
const CROP = 64;
// The demo's model declares no CRF of its own, so it gets the one default every command uses.
const CRF_PRESET: PresetName = crfPresetFor({ name: 'fcn8s', config: {} });
const PREDICTIONS = 8;

/** The demo writes into --out; it refuses a non-empty folder that an earlier demo did not write. */
async function prepareOut(out: string): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(out)).isDirectory()) throw new UsageError(`${out} exists and is not a folder`);
    entries = await readdir(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new UsageError(`${out} is not empty and holds no earlier demo (${MARKER}); choose another --out`);
  }
  for (const entry of ['data', 'run', 'predictions', 'curve.png', MARKER]) {
    await rm(join(out, entry), { recursive: true, force: true });
  }
}

async function demo(flags: DemoFlags): Promise<void> {
  const began = performance.now();
  const elapsedMinutes = () => (performance.now() - began) / 60_000;
  const say = (text: string) => process.stderr.write(`[${formatDuration(elapsedMinutes() * 60)}] ${text}\n`);
  if (flags.images < 16)
    throw new UsageError('--images must be at least 16 (a quarter go to val; training needs a batch of 8)');
  const out = resolve(flags.out);
  await prepareOut(out);

  say(`writing ${flags.images} synthetic VOC-layout images to ${join(out, 'data')}`);
  const data = await generateSyntheticVoc(join(out, 'data'), {
    seed: flags.seed,
    count: flags.images,
    minSize: 64,
    maxSize: 96,
  });
  const backend = await activateBackend(flags.backend);
  say(`backend: ${describeSelection(backend)}`);

  const runDir = join(out, 'run');
  const base = {
    model: 'fcn8s',
    modelConfig: { width: flags.width, alignment: 'compact', dropout: 0.1 },
    data: data.root,
    out: runDir,
    batchSize: BATCH_SIZE,
    crop: [CROP, CROP] as [number, number],
    scaleRange: [0.75, 1.25] as [number, number],
    flipProbability: 0.5,
    optimizer: { type: 'adam' as const, weightDecay: 1e-4 },
    schedule: { policy: 'poly' as const, baseLr: 3e-3, power: 0.9 },
    seed: flags.seed,
    logEvery: 5,
    backend: backend.name,
  };
  const progress = new TrainProgress({
    tty: Boolean(process.stderr.isTTY),
    every: 25,
    write: (t) => process.stderr.write(t),
  });
  const interrupt = interruptSignal((t) => process.stderr.write(t));
  const trainStart = performance.now();
  let steps = WARMUP_STEPS;
  // The engine's last checkpoint: final/ when the run finished, latest/ when the deadline stopped it.
  let checkpointPath = join(runDir, LATEST);
  try {
    // A few steps to time one step on this machine, then as many as fit the time budget.
    let firstStepAt = 0;
    let lastStepAt = 0;
    await runTraining({
      ...base,
      steps: WARMUP_STEPS,
      checkpointEvery: WARMUP_STEPS,
      signal: interrupt.signal,
      onEvent: (event) => {
        if (event.type === 'step') {
          if (event.step === 1) firstStepAt = performance.now();
          lastStepAt = performance.now();
        }
      },
    });
    const stepSeconds = (lastStepAt - firstStepAt) / 1000 / (WARMUP_STEPS - 1);
    const budgetSeconds = flags.minutes * 60 - (performance.now() - trainStart) / 1000;
    // About a tenth of the budget goes to the five evaluations along the way; if the machine gets
    // busier, the deadline stops training early and the run still ends on time.
    steps = Math.max(WARMUP_STEPS + 10, Math.min(20_000, Math.floor((budgetSeconds * 0.88) / stepSeconds)));
    say(
      `one step takes ${(stepSeconds * 1000).toFixed(0)} ms on ${backend.name}: training ${steps} steps in about ${flags.minutes} min`,
    );
    const deadline = AbortSignal.timeout(Math.round(Math.max(10, budgetSeconds) * 1000));
    const result = await runTraining({
      ...base,
      resume: true,
      steps,
      evalEvery: Math.max(10, Math.ceil(steps / 5)),
      checkpointEvery: Math.max(10, Math.ceil(steps / 4)),
      signal: AbortSignal.any([interrupt.signal, deadline]),
      onEvent: progress.onEvent,
    });
    progress.stop();
    if (interrupt.signal.aborted) {
      say(`interrupted at step ${result.step}; the checkpoint is in ${join(runDir, LATEST)}`);
      process.exitCode = 130;
      return;
    }
    steps = result.step;
    checkpointPath = result.finalCheckpoint;
    if (result.reason === 'interrupted') say(`time budget reached at step ${result.step}`);
  } finally {
    progress.stop();
    interrupt.dispose();
  }
  const trainMinutes = (performance.now() - trainStart) / 60_000;

  say(`evaluating ${data.splits.val.length} val images with and without the CRF (${CRF_PRESET})`);
  const summary = await runEvaluation({
    checkpoint: checkpointPath,
    data: data.root,
    split: 'val',
    crf: CRF_PRESET,
  });
  if (!summary.crfMetrics || !summary.crfMatrix) throw new Error('the evaluation returned no CRF metrics');

  say(`writing predictions and overlays for ${Math.min(PREDICTIONS, data.splits.val.length)} val images`);
  const overlays = await writePredictions(
    checkpointPath,
    data.vocRoot,
    data.splits.val.slice(0, PREDICTIONS),
    out,
  );

  const log = await readTrainLog(runDir);
  const curves = curvesFromLog(log);
  await writeOutput(
    join(out, 'curve.png'),
    await renderChartPng({ ...curves, title: `FCN-8s width ${flags.width} on ${backend.name}` }),
  );
  const figures = {
    backend: backend.name,
    steps,
    trainImages: data.splits.train.length,
    valImages: data.splits.val.length,
    minutes: elapsedMinutes(),
    trainMinutes,
    width: flags.width,
    batchSize: BATCH_SIZE,
    crop: CROP,
    crfPreset: CRF_PRESET,
    metrics: summary.metrics,
    crfMetrics: summary.crfMetrics,
    chanceMiou: majorityClassMiou(summary.matrix),
    classes: summary.meta.classes,
    overlays: overlays.map((o) => relative(out, o)),
  };
  await writeOutput(join(out, MARKER), demoReport(figures));
  process.stdout.write(
    `${summaryLines(figures).join('\n')}\nreport ${join(out, MARKER)}, curve ${join(out, 'curve.png')}, predictions ${join(out, 'predictions')}\n`,
  );
}

async function writePredictions(
  checkpoint: string,
  vocRoot: string,
  ids: readonly string[],
  out: string,
): Promise<string[]> {
  const { model, meta } = await loadModel(checkpoint);
  const palette = completePalette(meta.palette);
  const overlays: string[] = [];
  try {
    model.eval();
    for (const id of ids) {
      const image = await readImageFile(join(vocRoot, 'JPEGImages', `${id}.jpg`));
      const prediction = await predictImageAsync(model, image, { normalization: meta.normalization });
      const refined = refineWithCrf(image, prediction, CRF_PRESET);
      await writeOutput(
        join(out, 'predictions', `${id}.png`),
        labelPng(prediction.labels, image.width, image.height, meta.palette),
      );
      await writeOutput(
        join(out, 'predictions', `${id}.crf.png`),
        labelPng(refined.labels, image.width, image.height, meta.palette),
      );
      const overlay = join(out, 'predictions', `${id}.overlay.png`);
      await writeOutput(overlay, await renderOverlay(image, refined.labels, meta.classes, palette));
      overlays.push(overlay);
    }
  } finally {
    model.dispose();
  }
  return overlays;
}

export function demoCommand(): Command {
  const command = new Command('demo')
    .summary('synthetic data -> train FCN-8s -> evaluate with/without CRF -> report, in minutes')
    .description(
      'Writes a synthetic VOC-layout dataset, trains a small FCN-8s on the best backend here for ' +
        '--minutes (a progress bar shows it), evaluates it with and without the dense CRF, writes ' +
        'predictions, overlays and <out>/demo-report.md (per-class table, loss/mIoU curve), and ' +
        'prints the summary. Rerunning with the same --out replaces the earlier demo.',
    )
    .option('--out <dir>', 'output folder', 'semseg-demo')
    .addOption(option('--minutes <n>', 'training time budget in minutes', parsePositiveNumber).default(6))
    .addOption(backendOption())
    .addOption(option('--images <n>', 'synthetic images (a quarter go to val)', parsePositiveInt).default(96))
    .addOption(option('--width <w>', 'VGG16 channel multiplier', parseWidth).default(0.125, '1/8'))
    .addOption(option('--seed <n>', 'seed for data, initialisation and order', parsePositiveInt).default(1));
  command.action(() => demo(command.opts<DemoFlags>()));
  return command;
}
