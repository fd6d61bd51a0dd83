// Layers benchmark: forward and forward+backward of the layers the seed models lean on, on wasm and
// cpu, ours against tfjs's built-in ops and gradients where those exist; then a VGG16 conv-stack
// training step against its forward pass on wasm. `tsx bench/layers.bench.ts`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng, patchWasmKernels } from '@semseg/core';
import { type BenchRow, addRatios, measure, printTable, writeResults } from '@semseg/tooling/bench';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import {
  Conv2d,
  type ConvGeometry,
  type PoolGeometry,
  conv2d,
  convTranspose2d,
  maxPool2d,
  maxPool2dWithSwitches,
  maxUnpool2d,
} from '../src/index.js';

const require = createRequire(import.meta.url);
setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);

type Tensors = tf.Tensor | tf.Tensor[];

async function settle(out: Tensors): Promise<void> {
  const list = Array.isArray(out) ? out : [out];
  for (const t of list) await t.data();
  tf.dispose(list);
}

function random(shape: number[], seed: number, std = 1): tf.Tensor {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillNormal(new Float32Array(size), 0, std), shape);
}

/** Gradients of f with respect to its inputs for a fixed upstream gradient: forward + backward. */
function forwardBackward(
  f: (...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  dy: tf.Tensor,
): tf.Tensor[] {
  return tf.grads(f)(inputs, dy);
}

interface Row extends BenchRow {
  backend: string;
  op: string;
  impl: string;
  pass: string;
  medianMs?: number;
  note?: string;
  xForward?: number;
}

const rows: Row[] = [];
const LOOPS = { wasm: { warmup: 1, iterations: 5 }, cpu: { warmup: 0, iterations: 1 } } as const;

async function time(
  backend: 'wasm' | 'cpu',
  op: string,
  impl: string,
  pass: string,
  fn: () => Tensors,
  baseline?: string,
) {
  const result = await measure(() => settle(fn()), LOOPS[backend]);
  const name = `${backend} ${op} ${impl} ${pass}`;
  rows.push({
    name,
    backend,
    op,
    impl,
    pass,
    medianMs: result.medianMs,
    ...(baseline ? { baseline: `${backend} ${op} ${baseline}` } : {}),
  });
  console.log(`${name}: ${result.medianMs.toFixed(1)} ms (${result.runs} runs)`);
}

function missing(backend: string, op: string, impl: string, pass: string, note: string) {
  rows.push({ name: `${backend} ${op} ${impl} ${pass}`, backend, op, impl, pass, note });
}

const same3x3: ConvGeometry = { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] };
const atrous12: ConvGeometry = { stride: [1, 1], dilation: [12, 12], padding: [12, 12, 12, 12] };
const pool2: PoolGeometry = { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: false };

/**
 * `size` is the feature map side: 112 on wasm as the issue asks; the cpu backend runs the same ops
 * at 28x28 because tfjs's own cpu Conv2DBackpropFilter took 453 s for one 112x112 step.
 */
async function layerSuite(backend: 'wasm' | 'cpu', size: number) {
  await tf.setBackend(backend);
  if (backend === 'wasm') patchWasmKernels();
  const half = size / 2;
  const x = random([1, size, size, 64], 1) as tf.Tensor4D;
  const w = random([3, 3, 64, 64], 2, 0.05) as tf.Tensor4D;
  const dy = random([1, size, size, 64], 3) as tf.Tensor4D;

  // conv3x3 64 -> 64 at 112x112
  const op = `conv3x3 64->64 ${size}x${size}`;
  await time(backend, op, 'tfjs', 'forward', () => tf.conv2d(x, w, 1, 'same'));
  await time(backend, op, 'ours', 'forward', () => conv2d(x, w, same3x3), 'tfjs forward');
  await time(
    backend,
    op,
    'ours',
    'fwd+bwd',
    () => forwardBackward((a, b) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, same3x3), [x, w], dy),
    'tfjs fwd+bwd',
  );
  if (backend === 'cpu') {
    await time(backend, op, 'tfjs', 'fwd+bwd', () =>
      forwardBackward((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), [x, w], dy),
    );
  } else missing(backend, op, 'tfjs', 'fwd+bwd', 'no Conv2DBackpropFilter on wasm');

  // The same conv with its bias and ReLU at inference: three kernels, or Conv2d in evaluation
  // mode (one FusedConv2D).
  const layer = new Conv2d({ inChannels: 64, outChannels: 64, kernelSize: 3, padding: 1, rng: new Rng(5) });
  layer.eval();
  const bop = `conv3x3+bias+relu 64->64 ${size}x${size}`;
  await time(backend, bop, 'apart', 'inference', () =>
    tf.tidy(() => tf.relu(tf.add(tf.conv2d(x, layer.weight as tf.Tensor4D, 1, 'same'), layer.bias!))),
  );
  await time(
    backend,
    bop,
    'Conv2d eval',
    'inference',
    () => layer.forward(x, { activation: 'relu' }),
    'apart inference',
  );
  layer.dispose();

  // atrous 3x3, rate 12, 64 -> 64 at 112x112
  const aop = `atrous3x3 r12 64->64 ${size}x${size}`;
  await time(backend, aop, 'tfjs', 'forward', () => tf.conv2d(x, w, 1, 'same', 'NHWC', 12));
  await time(backend, aop, 'ours', 'forward', () => conv2d(x, w, atrous12), 'tfjs forward');
  await time(
    backend,
    aop,
    'ours',
    'fwd+bwd',
    () => forwardBackward((a, b) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, atrous12), [x, w], dy),
    'tfjs fwd+bwd',
  );
  if (backend === 'cpu') {
    // tfjs's trainable atrous route (TensorFlow's atrous_conv2d): space-to-batch, conv, batch-to-space.
    const extra = (12 - ((size + 24) % 12)) % 12;
    const s2b = (a: tf.Tensor, b: tf.Tensor) =>
      tf.batchToSpaceND(
        tf.conv2d(
          tf.spaceToBatchND(
            a,
            [12, 12],
            [
              [12, 12 + extra],
              [12, 12 + extra],
            ],
          ) as tf.Tensor4D,
          b as tf.Tensor4D,
          1,
          'valid',
        ),
        [12, 12],
        [
          [0, extra],
          [0, extra],
        ],
      );
    await time(backend, aop, 'tfjs', 'fwd+bwd', () => forwardBackward(s2b, [x, w], dy));
  } else
    missing(
      backend,
      aop,
      'tfjs',
      'fwd+bwd',
      'dilated conv2d has no gradient; space-to-batch needs Conv2DBackpropFilter',
    );

  // transposed conv x2: k4 s2 p1, 64 -> 64, 56x56 -> 112x112
  const small = random([1, half, half, 64], 4) as tf.Tensor4D;
  const wt = random([4, 4, 64, 64], 5, 0.05) as tf.Tensor4D;
  const top = `transposed conv x2 k4 64->64 ${half}->${size}`;
  const tgeom = {
    stride: [2, 2] as [number, number],
    dilation: [1, 1] as [number, number],
    padding: [1, 1] as [number, number],
    outputSize: [size, size] as [number, number],
  };
  const builtInT = (a: tf.Tensor, b: tf.Tensor) =>
    tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [1, size, size, 64], 2, 1);
  await time(backend, top, 'tfjs', 'forward', () => builtInT(small, wt));
  await time(backend, top, 'ours', 'forward', () => convTranspose2d(small, wt, tgeom), 'tfjs forward');
  await time(
    backend,
    top,
    'ours',
    'fwd+bwd',
    () =>
      forwardBackward((a, b) => convTranspose2d(a as tf.Tensor4D, b as tf.Tensor4D, tgeom), [small, wt], dy),
    'tfjs fwd+bwd',
  );
  if (backend === 'cpu')
    await time(backend, top, 'tfjs', 'fwd+bwd', () => forwardBackward(builtInT, [small, wt], dy));
  else missing(backend, top, 'tfjs', 'fwd+bwd', 'no Conv2DBackpropFilter on wasm');

  // max pool 2x2 (with our first-max gradient) and unpool 56 -> 112, 64 channels
  const pop = `maxpool 2x2 64ch ${size}->${half}`;
  const dyPool = random([1, half, half, 64], 6);
  await time(backend, pop, 'tfjs', 'forward', () => tf.maxPool(x, 2, 2, 'valid'));
  await time(backend, pop, 'ours', 'forward', () => maxPool2d(x, pool2), 'tfjs forward');
  await time(backend, pop, 'tfjs', 'fwd+bwd', () =>
    forwardBackward((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [x], dyPool),
  );
  await time(
    backend,
    pop,
    'ours',
    'fwd+bwd',
    () => forwardBackward((a) => maxPool2d(a as tf.Tensor4D, pool2), [x], dyPool),
    'tfjs fwd+bwd',
  );
  const { output, switches } = maxPool2dWithSwitches(x, pool2);
  const uop = `unpool 2x2 64ch ${half}->${size}`;
  await time(backend, uop, 'ours', 'forward', () => maxUnpool2d(output, switches, pool2, [size, size]));
  await time(backend, uop, 'ours', 'fwd+bwd', () =>
    forwardBackward((a) => maxUnpool2d(a as tf.Tensor4D, switches, pool2, [size, size]), [output], dy),
  );
  missing(backend, uop, 'tfjs', 'forward', 'tfjs has no unpooling');
  tf.dispose([x, w, dy, small, wt, dyPool, output, switches]);
}

const VGG16: Array<number | 'pool'> = [
  64,
  64,
  'pool',
  128,
  128,
  'pool',
  256,
  256,
  256,
  'pool',
  512,
  512,
  512,
  'pool',
  512,
  512,
  512,
  'pool',
];

async function vggSuite(batch: number, size: number) {
  await tf.setBackend('wasm');
  patchWasmKernels();
  const rng = new Rng(7);
  const weights: tf.Variable[] = [];
  const biases: tf.Variable[] = [];
  let channels = 3;
  for (const layer of VGG16) {
    if (layer === 'pool') continue;
    const std = Math.sqrt(2 / (9 * channels));
    weights.push(
      tf.variable(
        tf.tensor4d(rng.fillNormal(new Float32Array(9 * channels * layer), 0, std), [3, 3, channels, layer]),
      ),
    );
    biases.push(tf.variable(tf.zeros([layer])));
    channels = layer;
  }
  const forward = (x: tf.Tensor4D, ours: boolean): tf.Tensor4D => {
    let h: tf.Tensor4D = x;
    let k = 0;
    for (const layer of VGG16) {
      if (layer === 'pool') {
        h = ours ? maxPool2d(h, pool2) : tf.maxPool(h, 2, 2, 'valid');
        continue;
      }
      const conv = ours
        ? conv2d(h, weights[k] as tf.Tensor4D, same3x3)
        : tf.conv2d(h, weights[k] as tf.Tensor4D, 1, 'same');
      h = tf.relu(tf.add(conv, biases[k]!)) as tf.Tensor4D;
      k++;
    }
    return h;
  };
  const x = random([batch, size, size, 3], 8) as tf.Tensor4D;
  const op = `VGG16 conv stack ${batch}x${size}x${size}`;
  const loops = { warmup: 1, iterations: 3 };
  const record = async (impl: string, pass: string, fn: () => Tensors, baseline?: string) => {
    const result = await measure(() => settle(tf.tidy(fn)), loops);
    const name = `wasm ${op} ${impl} ${pass}`;
    rows.push({
      name,
      backend: 'wasm',
      op,
      impl,
      pass,
      medianMs: result.medianMs,
      ...(baseline ? { baseline: `wasm ${op} ${baseline}` } : {}),
    });
    console.log(`${name}: ${result.medianMs.toFixed(0)} ms`);
  };
  await record('tfjs', 'forward', () => forward(x, false));
  await record('ours', 'forward', () => forward(x, true), 'tfjs forward');
  await record(
    'ours',
    'train step',
    () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(forward(x, true)), [...weights, ...biases]);
      return [value, ...Object.values(grads)];
    },
    'ours forward',
  );
  tf.dispose([x, ...weights, ...biases]);
}

const started = performance.now();
await layerSuite('wasm', 112);
await layerSuite('cpu', 28);
await vggSuite(1, 224);
await vggSuite(8, 96);

addRatios(rows);
// Training cost relative to our own forward pass, per op.
for (const row of rows) {
  if (row.impl !== 'ours' || row.pass === 'forward' || row.medianMs === undefined) continue;
  const fwd = rows.find(
    (r) => r.backend === row.backend && r.op === row.op && r.impl === 'ours' && r.pass === 'forward',
  );
  if (fwd?.medianMs) row.xForward = row.medianMs / fwd.medianMs;
}
printTable(
  'layers: median ms; ratio = ours / tfjs built-in (same pass); xForward = ours fwd+bwd (or train step) / ours forward',
  rows,
  ['backend', 'op', 'impl', 'pass', 'medianMs', 'ratio', 'xForward', 'note'],
);
writeResults('layers', { rows, totalSeconds: (performance.now() - started) / 1000 });
