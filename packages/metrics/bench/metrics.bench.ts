/**
 * Mpixel/s of ConfusionMatrix.update on 512x512 label maps with 21 classes (VOC), against the
 * loop most code writes (check, skip ignore, increment a Float64Array) measured in the same run.
 */
import { loadavg } from 'node:os';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import { ConfusionMatrix } from '../src/index.js';
import { type LabelPair, randomPair, vocLikePair } from './synthetic-labels.js';

const SIZE = 512;
const PIXELS = SIZE * SIZE;
const NUM_CLASSES = 21;
const IGNORE = 255;
const IMAGES = 8;

/** The baseline: a plain validating loop straight into a Float64Array matrix. */
function naiveUpdate(matrix: Float64Array, pred: ArrayLike<number>, target: ArrayLike<number>): void {
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    if (t === IGNORE) continue;
    if (t >= NUM_CLASSES) throw new Error(`bad target ${t}`);
    const p = pred[i]!;
    if (p >= NUM_CLASSES) throw new Error(`bad prediction ${p}`);
    matrix[t * NUM_CLASSES + p]++;
  }
}

const vocLike: LabelPair[] = Array.from({ length: IMAGES }, (_, k) =>
  vocLikePair(SIZE, SIZE, NUM_CLASSES, 1 + k),
);
const uniform: LabelPair[] = Array.from({ length: IMAGES }, (_, k) =>
  randomPair(PIXELS, NUM_CLASSES, 100 + k),
);
const asInt32 = vocLike.map(({ pred, target }) => ({ pred: Int32Array.from(pred), target }));
const asUint16 = vocLike.map(({ pred, target }) => ({
  pred: Uint16Array.from(pred),
  target: Uint16Array.from(target),
}));

interface Case {
  name: string;
  baseline?: string;
  run: () => void;
}

const naiveMatrix = new Float64Array(NUM_CLASSES * NUM_CLASSES);
const matrix = new ConfusionMatrix(NUM_CLASSES);
const cases: Case[] = [
  {
    name: 'naive loop, VOC-like',
    run: () => vocLike.forEach((x) => naiveUpdate(naiveMatrix, x.pred, x.target)),
  },
  {
    name: 'update u8/u8, VOC-like',
    baseline: 'naive loop, VOC-like',
    run: () => vocLike.forEach((x) => matrix.update(x.pred, x.target)),
  },
  {
    name: 'update i32/u8 (argMax), VOC-like',
    baseline: 'naive loop, VOC-like',
    run: () => asInt32.forEach((x) => matrix.update(x.pred, x.target)),
  },
  {
    name: 'update u16/u16, VOC-like',
    baseline: 'naive loop, VOC-like',
    run: () => asUint16.forEach((x) => matrix.update(x.pred, x.target)),
  },
  {
    name: 'update batch of 8 u8, VOC-like',
    baseline: 'naive loop, VOC-like',
    run: () =>
      matrix.update(
        vocLike.map((x) => x.pred),
        vocLike.map((x) => x.target),
      ),
  },
  {
    name: 'naive loop, uniform',
    run: () => uniform.forEach((x) => naiveUpdate(naiveMatrix, x.pred, x.target)),
  },
  {
    name: 'update u8/u8, uniform',
    baseline: 'naive loop, uniform',
    run: () => uniform.forEach((x) => matrix.update(x.pred, x.target)),
  },
];

// Other jobs share the cores: measure every case in several interleaved rounds and keep each
// case's best median, so a busy moment does not land on one row only.
const ROUNDS = 5;
const bestMedianMs = new Map<string, number>();
const runsByCase = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    const m = await measure(c.run, { warmup: 3, iterations: 15, minTimeMs: 500 });
    bestMedianMs.set(c.name, Math.min(bestMedianMs.get(c.name) ?? Number.POSITIVE_INFINITY, m.medianMs));
    runsByCase.set(c.name, (runsByCase.get(c.name) ?? 0) + m.runs);
  }
}
const rows: BenchRow[] = cases.map((c) => {
  const medianMs = bestMedianMs.get(c.name)!;
  return {
    name: c.name,
    baseline: c.baseline,
    msPerImage: medianMs / IMAGES,
    mpixelPerS: (IMAGES * PIXELS) / (medianMs * 1000),
    runs: runsByCase.get(c.name)!,
  };
});
// Speed-up = the baseline's time over this row's time.
addRatios(rows, 'msPerImage');
for (const row of rows) if (row.ratio !== undefined) row.speedup = 1 / row.ratio;

printTable(
  `ConfusionMatrix.update, ${SIZE}x${SIZE}, ${NUM_CLASSES} classes, ${IMAGES} images per run (median)`,
  rows,
  ['name', 'msPerImage', 'mpixelPerS', 'speedup', 'runs'],
);
// Keep the matrices observable so no loop is dead code.
console.log(`\ncounted ${matrix.labelledPixels} + naive ${naiveMatrix.reduce((a, b) => a + b, 0)} pixels`);
// The load average says how busy the shared cores were while this ran.
console.log(
  `load average (1, 5, 15 min): ${loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')}`,
);
writeResults('metrics', {
  loadAverage: loadavg(),
  width: SIZE,
  height: SIZE,
  numClasses: NUM_CLASSES,
  imagesPerRun: IMAGES,
  rows,
});
