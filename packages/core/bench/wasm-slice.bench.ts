/**
 * The wasm kernels selectBackend installs against tfjs-backend-wasm's own (the baseline, put
 * back for its turns in the same run): milliseconds and V8 collections for the slices our
 * convolutions take, FCN-8s's fc6 im2col (49 taps of a padded 4x9x9x128 map) and its crop of a
 * 4x98x98x16 map, and a tap's window in VGG16 conv1_2's filter gradient; then the bias gradient
 * of VGG16's conv1 and a DeconvNet batch norm's moments (Sum and Mean over N, H and W), the
 * tape's copies of saved tensors (Identity), the transposes of a training step (Transpose), and
 * the matmuls of the Winograd and gemm routes (BatchMatMul).
 *
 *   npm run bench -w packages/core
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../src/node/index.js';
import { Rng } from '../src/rng.js';
import { patchWasmKernels, restoreWasmKernels } from '../src/wasm-kernels.js';

tf.env().set('PROD', true);
await useNodeBackend('wasm');

let collections = 0;
new PerformanceObserver((list) => {
  collections += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

const random = (shape: number[]) =>
  tf.tensor(new Rng(1).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);

const box = (begin: number[], size: number[]): [number[], number[]] => [begin, size];

const CASES: Array<{ label: string; input: number[]; slices: Array<[number[], number[]]> }> = [
  {
    label: 'fc6 im2col, 49 taps of 4x9x9x128',
    input: [4, 9, 9, 128],
    slices: Array.from({ length: 49 }, (_, t) => [
      [0, Math.floor(t / 7), t % 7, 0],
      [4, 3, 3, 128],
    ]),
  },
  { label: 'crop 4x98x98x16 to 96x96', input: [4, 98, 98, 16], slices: [box([0, 1, 1, 0], [4, 96, 96, 16])] },
  // VGG16 conv1_2's filter gradient: one tap's window of the channel-first padded input.
  {
    label: 'tap window of 64x1x226x226',
    input: [64, 1, 226, 226],
    slices: [box([0, 0, 1, 1], [64, 1, 224, 224])],
  },
];

const rows: BenchRow[] = [];
const sides = [
  { name: "tfjs's kernel", install: restoreWasmKernels },
  { name: 'ours', install: patchWasmKernels },
];
for (const spec of CASES) {
  const x = random(spec.input);
  const run = () => tf.tidy(() => spec.slices.forEach(([begin, size]) => tf.slice(x, begin, size)));
  const repeats = Math.max(1, Math.round(2000 / spec.slices.length));
  const results = sides.map(() => ({ ms: [] as number[], collections: 0 }));
  // Alternating sides, so that both see the same drift of this shared machine.
  for (let round = 0; round < 5; round++) {
    for (const [k, side] of sides.entries()) {
      side.install();
      const before = collections;
      const { medianMs } = await measure(run, { warmup: 2, iterations: repeats });
      await new Promise((resolve) => setTimeout(resolve, 20)); // the observer reports asynchronously
      results[k]!.ms.push(medianMs);
      results[k]!.collections += collections - before;
    }
  }
  for (const [k, side] of sides.entries()) {
    const sorted = [...results[k]!.ms].sort((a, b) => a - b);
    rows.push({
      name: `${spec.label}: ${side.name}`,
      medianMs: sorted[2]!,
      gcPer1000Slices: (results[k]!.collections * 1000) / (5 * (repeats + 2) * spec.slices.length),
      ...(k > 0 ? { baseline: `${spec.label}: ${sides[0]!.name}` } : {}),
    });
  }
  x.dispose();
}

// Other kernels: one call of each per repeat.
const OPS: Array<{ label: string; input: number[]; run: (x: tf.Tensor) => tf.Tensor }> = [
  { label: 'Sum of 1x224x224x64 over N, H, W', input: [1, 224, 224, 64], run: (x) => tf.sum(x, [0, 1, 2]) },
  { label: 'Mean of 4x96x96x16 over N, H, W', input: [4, 96, 96, 16], run: (x) => tf.mean(x, [0, 1, 2]) },
  { label: 'Identity (tape copy) of 4x96x96x16', input: [4, 96, 96, 16], run: (x) => tf.clone(x) },
  // The gemm route's W^T of FCN-8s w1/4's fc6 and fc7, and a map made channels-first.
  { label: 'Transpose of fc6 6272x1024', input: [6272, 1024], run: (x) => tf.transpose(x) },
  { label: 'Transpose of fc7 1024x1024', input: [1024, 1024], run: (x) => tf.transpose(x) },
  {
    label: 'Transpose of 4x98x98x16 to channels-first',
    input: [4, 98, 98, 16],
    run: (x) => tf.transpose(x, [3, 0, 1, 2]),
  },
];
for (const spec of OPS) {
  const x = random(spec.input);
  // Disposes the result (a tidy returning it would keep it: 25 MB per call for fc6's filter).
  const run = () => tf.dispose(spec.run(x));
  const results = sides.map(() => [] as number[]);
  for (let round = 0; round < 5; round++) {
    for (const [k, side] of sides.entries()) {
      side.install();
      results[k]!.push((await measure(run, { warmup: 2, iterations: 20 })).medianMs);
    }
  }
  for (const [k, side] of sides.entries()) {
    const sorted = [...results[k]!].sort((a, b) => a - b);
    rows.push({
      name: `${spec.label}: ${side.name}`,
      medianMs: sorted[2]!,
      ...(k > 0 ? { baseline: `${spec.label}: ${sides[0]!.name}` } : {}),
    });
  }
  x.dispose();
}
// Matmuls: a right operand new each call (a training step's filter, or the activations and
// gradients of a filter gradient's products: XNNPACK packs it every time), and one kept (a filter
// at inference: XNNPACK's packing cached, its best case).
const MATMULS: Array<{ label: string; m: number; k: number; n: number; fresh: boolean }> = [
  { label: 'Winograd filter-gradient product', m: 64, k: 4032, n: 64, fresh: true },
  { label: "VGG16 conv4's Winograd product, this step's filter", m: 196, k: 512, n: 512, fresh: true },
  { label: 'gemm filter gradient of VGG16 conv2_1', m: 576, k: 12544, n: 128, fresh: true },
  { label: "VGG16 conv2's Winograd product at inference", m: 3136, k: 128, n: 128, fresh: false },
];
for (const spec of MATMULS) {
  const a = random([spec.m, spec.k]);
  const b = random([spec.k, spec.n]);
  // A fresh B is a copy made before the clock runs for both sides alike (tf.add of 0).
  const run = () => {
    const right = spec.fresh ? tf.add(b, 0) : b;
    tf.dispose(tf.matMul(a, right));
    if (spec.fresh) right.dispose();
  };
  const results = sides.map(() => [] as number[]);
  for (let round = 0; round < 5; round++) {
    for (const [k, side] of sides.entries()) {
      side.install();
      results[k]!.push((await measure(run, { warmup: 2, iterations: 10 })).medianMs);
    }
  }
  const label = `MatMul [${spec.m}, ${spec.k}] x [${spec.k}, ${spec.n}], ${spec.label}`;
  for (const [k, side] of sides.entries()) {
    const sorted = [...results[k]!].sort((x, y) => x - y);
    rows.push({
      name: `${label}: ${side.name}`,
      medianMs: sorted[2]!,
      ...(k > 0 ? { baseline: `${label}: ${sides[0]!.name}` } : {}),
    });
  }
  tf.dispose([a, b]);
}
patchWasmKernels();
addRatios(rows);
printTable('wasm kernels (ms per set of slices or per call; ratio = ours / tfjs)', rows, [
  'name',
  'medianMs',
  'ratio',
  'gcPer1000Slices',
]);
writeResults('wasm-slice', { rows });
