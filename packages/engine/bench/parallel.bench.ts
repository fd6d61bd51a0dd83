/**
 * Every core for training and evaluation on wasm: data-parallel replica threads (ParallelTrainer,
 * ReplicaPool) against one thread, a PyTorch CPU step of the same FCN-8s, the VGG16 training
 * step over its forward, and the peak memory of a paper-size FCN-8s step.
 *
 *   npm run bench -w packages/engine            (every engine bench)
 *   npx tsx bench/parallel.bench.ts [--quick] [--only train,eval,vgg,torch,rss,ceiling]
 *
 * Prints a table with ratios and writes bench-results/parallel.json: for the parallel rows the ratio
 * of the medians, the median of the rounds' paired ratios, and what the replicas' compute alone
 * allows (computeBound) with their spread. The model packages are not
 * declared dependencies of the engine (they depend on it: turbo would see a cycle); the bench finds
 * them in the workspace's node_modules.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IMAGENET_NORMALIZATION,
  Rng,
  type SegmentationModel,
  WINOGRAD_GRADIENT,
  WINOGRAD_INPUT,
  WINOGRAD_OUTPUT,
  createModel,
  patchWasmKernels,
} from '@semseg/core';
import { useNodeBackend } from '@semseg/core/node';
import '@semseg/deconvnet';
import '@semseg/deeplab';
import '@semseg/fcn';
import { Conv2d, MaxPool2d } from '@semseg/layers';
import { measure, printTable, writeResults } from '@semseg/tooling/bench';
import { runTorchScriptAsync, torchPython, torchSkipReason } from '@semseg/tooling/python';
import { generateSyntheticVoc, openVocDataset } from '@semseg/voc-data/node';
import * as tf from '@tensorflow/tfjs-core';
import { predictImageAsync } from '../src/inference/predict.js';
import { evaluateDataset } from '../src/node/evaluate-run.js';
import { ReplicaPool } from '../src/node/parallel/pool.js';
import { ParallelTrainer } from '../src/node/parallel/trainer.js';
import { Trainer } from '../src/train/trainer.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only =
  args
    .find((a) => a.startsWith('--only'))
    ?.split('=')[1]
    ?.split(',') ?? null;
const wants = (part: string) => only === null || only.includes(part);
const PLUGINS = ['@semseg/fcn', '@semseg/deeplab', '@semseg/deconvnet'].map((p) => import.meta.resolve(p));
const THREADS = 2;
const loops = { warmup: 1 };

interface Row {
  name: string;
  [key: string]: string | number | undefined;
}
const rows: Row[] = [];
/** The middle value (the upper one of an even count). */
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const notes: string[] = [];

tf.env().set('PROD', true);
await useNodeBackend('wasm');

function randomBatch(n: number, size: number, classes: number): { images: Float32Array; labels: Uint8Array } {
  const rng = new Rng(3);
  const images = rng.fillNormal(new Float32Array(n * size * size * 3));
  const labels = new Uint8Array(n * size * size);
  for (let i = 0; i < labels.length; i++) labels[i] = rng.next() < 0.1 ? 255 : rng.int(classes);
  return { images, labels };
}

const TRAIN_MODELS: Array<{ label: string; name: string; config: Record<string, unknown> }> = [
  { label: 'FCN-8s w1/4 compact', name: 'fcn8s', config: { width: 0.25, alignment: 'compact' } },
  { label: 'DeepLab-LargeFOV w1/4', name: 'deeplab-v1', config: { width: 0.25 } },
  // 96x96 crops need fc6 'same' (the paper's 'valid' 7x7 fc6 needs 224x224 inputs).
  { label: 'DeconvNet w1/4', name: 'deconvnet', config: { width: 0.25, fc6Padding: 'same' } },
];

/** Median ms of a training step, batch 8 at 96x96, on 1 thread and on THREADS replica threads. */
async function trainSuite(): Promise<void> {
  const [n, size] = [8, 96];
  const { images, labels } = randomBatch(n, size, 21);
  for (const spec of TRAIN_MODELS) {
    try {
      await trainModel(spec, images, labels, n, size);
    } catch (e) {
      rows.push({ name: `train ${spec.label}`, group: 'train', note: `FAILED: ${(e as Error).message}` });
    }
  }
}

async function trainModel(
  spec: (typeof TRAIN_MODELS)[number],
  images: Float32Array,
  labels: Uint8Array,
  n: number,
  size: number,
): Promise<void> {
  const build = () => createModel(spec.name, { numClasses: 21, ...spec.config }, { rng: new Rng(1) });
  const recipe = {
    optimizer: { type: 'sgd' as const, momentum: 0.9, weightDecay: 5e-4 },
    schedule: { policy: 'fixed' as const, baseLr: 1e-3, maxSteps: 1000 },
  };
  const base = `train ${spec.label} 8x96x96`;
  const singleModel = build();
  const parallelModel = build();
  const loopsModel = build();
  const single = new Trainer({ model: singleModel, ...recipe });
  const startParallel = (model: SegmentationModel, placement: 'auto' | 'buffers') =>
    ParallelTrainer.create({
      model,
      ...recipe,
      threads: THREADS,
      architecture: { name: spec.name, config: { ...(model.config ?? {}), numClasses: 21 } },
      plugins: PLUGINS,
      placement,
    });
  const parallel = await startParallel(parallelModel, 'auto');
  // The same replicas with the optimiser update in JavaScript loops over separate buffers (the
  // same bits): the baseline of the SIMD update kernel.
  const loopsTrainer = await startParallel(loopsModel, 'buffers');
  try {
    // Alternating steps (1 thread, then N, then N with the loops, then 1 ...): this VM's speed
    // drifts by tens of percent within a minute, and interleaving puts every side of a ratio under
    // the same drift.
    const times: [number[], number[], number[]] = [[], [], []];
    // Per counted step of each parallel side: the stages of its slowest replica.
    const stages: Array<Array<Record<string, number>>> = [[], [], []];
    // Per counted step of each parallel side: every replica's compute (forward and backward).
    const computes: number[][][] = [[], [], []];
    const rounds = loops.warmup + (quick ? 2 : 7);
    for (let round = 0; round < rounds; round++) {
      for (const [k, trainer] of [single, parallel, loopsTrainer].entries()) {
        const t0 = performance.now();
        await trainer.trainStep(images, labels, [n, size, size]);
        if (round < loops.warmup) continue;
        times[k]!.push(performance.now() - t0);
        if (trainer instanceof ParallelTrainer && trainer.lastTimings) {
          stages[k]!.push(trainer.lastTimings);
          computes[k]!.push(trainer.lastReplicaTimings.map((t) => t.compute));
        }
      }
    }
    const stagesOf = (trainer: ParallelTrainer) => {
      const steps = stages[trainer === parallel ? 1 : 2]!;
      if (steps.length === 0) return '';
      return Object.keys(steps[0]!)
        .map((key) => `${key} ${median(steps.map((s) => s[key]!)).toFixed(0)}`)
        .join(', ');
    };
    // What the exchange costs and what the compute alone allows: the N=1 step over the slowest
    // replica's compute is the speed-up with free reading, writing, updating and waiting for the
    // main thread; the replicas' spread (slowest - fastest over their mean) is what the faster
    // one waits at the barrier, in the machine's noise as much as in the work.
    const boundOf = (k: number) => {
      const steps = computes[k]!;
      if (steps.length === 0) return {};
      const slowest = median(steps.map((c) => Math.max(...c)));
      const spread = median(
        steps.map((c) => (Math.max(...c) - Math.min(...c)) / (c.reduce((a, b) => a + b, 0) / c.length)),
      );
      return {
        computeBound: median(times[0]!) / slowest,
        computeSpread: spread,
        exchangeShare: 1 - slowest / median(times[k]!),
      };
    };
    // The rounds pair each N-thread step with the one-thread step next to it (the same drift):
    // the median of the pairs' ratios, beside the ratio of the two medians.
    const pairedOf = (k: number) => median(times[k]!.map((t, round) => times[0]![round]! / t));
    const sides = [
      { name: `${base} N=1`, stages: '', bound: {} },
      { name: `${base} N=${THREADS}`, stages: stagesOf(parallel), bound: boundOf(1) },
      { name: `${base} N=${THREADS}, update in JS loops`, stages: stagesOf(loopsTrainer), bound: boundOf(2) },
    ];
    for (const [k, side] of sides.entries()) {
      const medianMs = median(times[k]!);
      rows.push({
        name: side.name,
        group: 'train',
        medianMs,
        perSecond: 1000 / medianMs,
        ...side.bound,
        ...(k > 0 ? { pairedRatio: pairedOf(k) } : {}),
        ...(k > 0
          ? {
              baseline: `${base} N=1`,
              note: `steps alternate with N=1; median ms per stage (the slowest replica's): ${side.stages}`,
            }
          : {}),
      });
      const bound = side.bound as { computeBound?: number; computeSpread?: number; exchangeShare?: number };
      console.log(
        `${side.name}: ${medianMs.toFixed(0)} ms/step ${side.stages}${bound.computeBound ? `; compute alone allows ${bound.computeBound.toFixed(2)}x, replicas' spread ${(100 * bound.computeSpread!).toFixed(0)}%, exchange ${(100 * bound.exchangeShare!).toFixed(0)}% of the step` : ''}`,
      );
    }
  } finally {
    await Promise.all([parallel.close(), loopsTrainer.close()]);
    for (const disposable of [single, parallel, loopsTrainer, singleModel, parallelModel, loopsModel])
      disposable.dispose();
  }
}

/** Images per second of whole-image evaluation of 50 images, 1 thread and THREADS threads. */
async function evalSuite(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'semseg-parallel-bench-'));
  try {
    const voc = await generateSyntheticVoc(join(dir, 'voc'), {
      seed: 2,
      count: 50,
      minSize: 160,
      maxSize: 224,
      valFraction: 1,
    });
    const dataset = await openVocDataset(voc.root, { split: 'trainval' });
    const model: SegmentationModel = createModel(
      'fcn8s',
      { numClasses: 21, width: 0.25, alignment: 'compact' },
      { rng: new Rng(1) },
    );
    const architecture = { name: 'fcn8s', config: { ...(model.config ?? {}), numClasses: 21 } };
    const options = { normalization: IMAGENET_NORMALIZATION, mode: 'whole' as const };
    const base = `eval FCN-8s w1/4 compact, ${dataset.ids.length} images whole`;
    // Steady state on both sides: a first image in each engine (wasm tiers up its code and
    // XNNPACK packs the filters on first use), not counted.
    const first = await dataset.read(0);
    const warmImage = { width: first.width, height: first.height, data: first.image };
    await predictImageAsync(model, warmImage, options);
    const started = performance.now();
    const pool = await ReplicaPool.start({ threads: THREADS, model, architecture, plugins: PLUGINS });
    const startup = performance.now() - started;
    try {
      await Promise.all(Array.from({ length: THREADS }, () => pool.predict(warmImage, options)));
      // Passes alternate (1 thread, then N, ...): this VM's speed drifts by tens of percent
      // within a minute, and a ratio of two passes run minutes apart measured the drift.
      const timesOne: number[] = [];
      const timesTwo: number[] = [];
      let same = true;
      for (let round = 0; round < (quick ? 1 : 5); round++) {
        const t0 = performance.now();
        const one = await evaluateDataset(model, dataset, options);
        timesOne.push(performance.now() - t0);
        const t1 = performance.now();
        const two = await evaluateDataset(model, dataset, { ...options, replicas: pool });
        timesTwo.push(performance.now() - t1);
        same &&= JSON.stringify(one.matrix) === JSON.stringify(two.matrix);
      }
      const single = median(timesOne);
      const parallel = median(timesTwo);
      rows.push({
        name: `${base} N=1`,
        group: 'eval',
        medianMs: single,
        perSecond: (dataset.ids.length * 1000) / single,
      });
      rows.push({
        name: `${base} N=${THREADS}`,
        group: 'eval',
        medianMs: parallel,
        perSecond: (dataset.ids.length * 1000) / parallel,
        pairedRatio: median(timesOne.map((t, i) => t / timesTwo[i]!)),
        baseline: `${base} N=1`,
        note: `${same ? 'same' : 'DIFFERENT'} confusion matrices; median of ${timesTwo.length} passes alternating with N=1 (${timesOne.map((t, i) => `${t.toFixed(0)}/${timesTwo[i]!.toFixed(0)}`).join(', ')} ms); thread start ${startup.toFixed(0)} ms and one warm-up image per engine not counted`,
      });
    } finally {
      await pool.close();
      model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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

/** The VGG16 conv stack at 1x224x224 (as packages/layers' bench): a training step over its forward. */
async function vggSuite(): Promise<void> {
  const rng = new Rng(7);
  const layers: Array<Conv2d | MaxPool2d> = [];
  let channels = 3;
  for (const layer of VGG16) {
    if (layer === 'pool') layers.push(new MaxPool2d({ kernelSize: 2, stride: 2 }));
    else {
      layers.push(new Conv2d({ inChannels: channels, outChannels: layer, kernelSize: 3, padding: 1, rng }));
      channels = layer;
    }
  }
  const forward = (x: tf.Tensor4D) => {
    let h = x;
    for (const layer of layers)
      h = layer instanceof Conv2d ? (tf.relu(layer.forward(h)) as tf.Tensor4D) : layer.forward(h);
    return h;
  };
  const x = tf.randomNormal([1, 224, 224, 3]) as tf.Tensor4D;
  const variables = layers.flatMap((l) => l.parameters());
  const settle = async (t: tf.Tensor | tf.Tensor[]) => {
    const list = Array.isArray(t) ? t : [t];
    await Promise.all(list.map((v) => v.data()));
    tf.dispose(list);
  };
  const runForward = () => settle(tf.tidy(() => forward(x)));
  const runStep = () =>
    settle(
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.mean(forward(x)) as tf.Scalar, variables);
        return [value, ...Object.values(grads)];
      }),
    );
  // Without Winograd's kernels the layers take the direct routes (XNNPACK's conv, the gemm
  // filter gradient): the named baseline of the same forward and step.
  const direct =
    <T>(run: () => Promise<T>) =>
    async () => {
      for (const name of [WINOGRAD_INPUT, WINOGRAD_GRADIENT, WINOGRAD_OUTPUT])
        tf.unregisterKernel(name, 'wasm');
      try {
        return await run();
      } finally {
        patchWasmKernels();
      }
    };
  // Forward and step alternate, one of each per round (and the direct ones), so that all see the same drift.
  const times: number[][] = [[], [], [], []];
  const runs = [runForward, runStep, direct(runForward), direct(runStep)];
  for (let round = 0; round < loops.warmup + (quick ? 1 : 5); round++) {
    for (const [k, run] of runs.entries()) {
      const t0 = performance.now();
      await run();
      if (round >= loops.warmup) times[k]!.push(performance.now() - t0);
    }
  }
  const perRound = (a: number[], b: number[]) => a.map((t, i) => (t / b[i]!).toFixed(2)).join(', ');
  const names = ['forward', 'train step', 'forward, direct routes', 'train step, direct routes'].map(
    (what) => `VGG16 conv stack 1x224x224 ${what}`,
  );
  rows.push({ name: names[0]!, group: 'vgg', medianMs: median(times[0]!) });
  rows.push({
    name: names[1]!,
    group: 'vgg',
    medianMs: median(times[1]!),
    baseline: names[0],
    note: `one thread (a batch of 1 has no second shard); rounds alternate forward and step, step / forward per round: ${perRound(times[1]!, times[0]!)}; over the direct routes' forward: ${(median(times[1]!) / median(times[2]!)).toFixed(2)}x`,
  });
  rows.push({
    name: names[2]!,
    group: 'vgg',
    medianMs: median(times[2]!),
    note: "without Winograd's kernels",
  });
  rows.push({
    name: names[3]!,
    group: 'vgg',
    medianMs: median(times[3]!),
    baseline: names[2],
    note: `step / forward per round: ${perRound(times[3]!, times[2]!)}; the Winograd step is ${(median(times[3]!) / median(times[1]!)).toFixed(2)}x faster, its forward ${(median(times[2]!) / median(times[0]!)).toFixed(2)}x`,
  });
  tf.dispose([x]);
  for (const l of layers) l.dispose();
}

const TORCH_SCRIPT = String.raw`
import sys, time, json, torch, torch.nn as nn
threads = int(sys.argv[2]); torch.set_num_threads(threads); torch.manual_seed(0)
w = lambda c: c // 4
def block(cin, cout, n):
    layers = []
    for i in range(n):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2, 2))
def bilinear(ch, k):
    f = (k + 1) // 2; c = f - 1 if k % 2 == 1 else f - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = (1 - (og - c).abs() / f)
    weight = torch.zeros(ch, ch, k, k)
    for i in range(ch): weight[i, i] = filt[:, None] * filt[None, :]
    up = nn.ConvTranspose2d(ch, ch, k, stride=k // 2, padding=k // 4, bias=False)
    up.weight.data.copy_(weight); up.weight.requires_grad_(False)
    return up
class FCN8s(nn.Module):
    # FCN-8s at width 1/4 in our 'compact' alignment: conv1_1 padding 1, fc6 7x7 'same',
    # upsampling with padding s/2 (all crops 0), fixed bilinear upsampling, dropout 0.5.
    def __init__(s, classes=21):
        super().__init__()
        s.b1, s.b2, s.b3 = block(3, w(64), 2), block(w(64), w(128), 2), block(w(128), w(256), 3)
        s.b4, s.b5 = block(w(256), w(512), 3), block(w(512), w(512), 3)
        s.fc = nn.Sequential(nn.Conv2d(w(512), w(4096), 7, padding=3), nn.ReLU(True), nn.Dropout(0.5),
                             nn.Conv2d(w(4096), w(4096), 1), nn.ReLU(True), nn.Dropout(0.5))
        s.score_fr, s.score_pool4, s.score_pool3 = nn.Conv2d(w(4096), classes, 1), nn.Conv2d(w(512), classes, 1), nn.Conv2d(w(256), classes, 1)
        s.up2, s.up4, s.up8 = bilinear(classes, 4), bilinear(classes, 4), bilinear(classes, 16)
    def forward(s, x):
        p3 = s.b3(s.b2(s.b1(x))); p4 = s.b4(p3); f = s.fc(s.b5(p4))
        y = s.up2(s.score_fr(f)) + s.score_pool4(p4)
        y = s.up4(y) + s.score_pool3(p3)
        return s.up8(y)
model = FCN8s()
opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9, weight_decay=5e-4)
x = torch.randn(8, 3, 96, 96); y = torch.randint(0, 21, (8, 96, 96))
loss_fn = nn.CrossEntropyLoss(ignore_index=255)
def step():
    opt.zero_grad(); out = model(x); assert out.shape[-2:] == x.shape[-2:]
    loss = loss_fn(out, y); loss.backward(); opt.step()
step()
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); step(); times.append((time.perf_counter() - t) * 1000)
times.sort(); print(json.dumps({"medianMs": times[len(times) // 2]}))
`;

/** PyTorch's CPU step of the same FCN-8s (Debian's python3-torch), 1 and 2 threads. */
async function torchSuite(): Promise<void> {
  const skip = torchSkipReason();
  if (skip) {
    notes.push(`PyTorch rows skipped: ${skip}`);
    return;
  }
  for (const threads of [1, THREADS]) {
    const result = await runTorchScriptWithArgs(threads);
    const ours = rows.find((r) => r.name === `train FCN-8s w1/4 compact 8x96x96 N=${threads}`);
    rows.push({
      name: `pytorch FCN-8s w1/4 compact 8x96x96 threads=${threads}`,
      group: 'torch',
      medianMs: result,
      ...(ours ? { oursOverTorch: (ours.medianMs as number) / result } : {}),
    });
  }
}

/** runTorchScript passes no extra argv: run the script through the same python with our arguments. */
async function runTorchScriptWithArgs(threads: number): Promise<number> {
  const wrapper = `import sys, runpy\nsys.argv = [sys.argv[0], sys.argv[1], "${threads}", "${quick ? 2 : 5}"]\nexec(open(sys.argv[1] + "/fcn.py").read())`;
  const { stdout } = await runTorchScriptAsync(wrapper, {
    files: { 'fcn.py': TORCH_SCRIPT },
    timeoutMs: 600_000,
  });
  const last = stdout.trim().split('\n').at(-1)!;
  return (JSON.parse(last) as { medianMs: number }).medianMs;
}

/** A child process: one full-width FCN-8s training step at 500x500, batch 1, on wasm. */
async function rssChild(): Promise<void> {
  const model = createModel('fcn8s', { numClasses: 21 }, { rng: new Rng(1) });
  const trainer = new Trainer({
    model,
    optimizer: { type: 'sgd', momentum: 0.99, weightDecay: 5e-4 },
    schedule: { policy: 'fixed', baseLr: 1e-10, maxSteps: 1 },
    lossReduction: 'sum',
  });
  const { images, labels } = randomBatch(1, 500, 21);
  const t0 = performance.now();
  let error: string | null = null;
  try {
    await trainer.trainStep(images, labels, [1, 500, 500]);
  } catch (e) {
    error = (e as Error).message ?? String(e);
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({ peakRssMB: process.resourceUsage().maxRSS / 1024, seconds, error })}\n`,
  );
  process.exit(0);
}

/** A child process: median ms of single-thread training steps of one TRAIN_MODELS entry (batch 8, 96x96). */
async function ceilingChild(label: string): Promise<void> {
  const spec = TRAIN_MODELS.find((m) => m.label === label)!;
  const model = createModel(spec.name, { numClasses: 21, ...spec.config }, { rng: new Rng(1) });
  const trainer = new Trainer({
    model,
    optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    schedule: { policy: 'fixed', baseLr: 1e-3, maxSteps: 1000 },
  });
  const { images, labels } = randomBatch(8, 96, 21);
  const result = await measure(() => trainer.trainStep(images, labels, [8, 96, 96]), loops);
  process.stdout.write(`${JSON.stringify({ medianMs: result.medianMs })}\n`);
  process.exit(0);
}

/** Runs `count` copies of a command at once; resolves with each one's last stdout line as JSON. */
function concurrently(count: number, command: string, argv: string[]): Promise<Array<{ medianMs: number }>> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<{ medianMs: number }>((resolvePromise, reject) => {
          const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.stderr.on('data', (d) => {
            err += d;
          });
          child.on('close', (code) => {
            try {
              resolvePromise(JSON.parse(out.trim().split('\n').at(-1) ?? '') as { medianMs: number });
            } catch {
              reject(new Error(`child exited ${code}: ${err.trim().split('\n').slice(-2).join(' ')}`));
            }
          });
        }),
    ),
  );
}

/**
 * What two cores give this workload at best: the same single-thread step in one process alone,
 * then in two independent processes at once (no sharing, no messages). 2 x alone / together is
 * the speed-up a perfect split of the batch could reach on this machine (memory bandwidth,
 * caches and the host's scheduling are shared); the replicas' speed-up is read against it.
 * PyTorch's one-thread step likewise.
 */
async function ceilingSuite(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const measureCeiling = async (name: string, command: string, argv: string[]) => {
    try {
      const [alone] = await concurrently(1, command, argv);
      const together = await concurrently(THREADS, command, argv);
      const mean = together.reduce((a, r) => a + r.medianMs, 0) / together.length;
      rows.push({
        name: `ceiling ${name}`,
        group: 'ceiling',
        medianMs: mean,
        ceiling: (THREADS * alone!.medianMs) / mean,
        note: `one process alone ${alone!.medianMs.toFixed(0)} ms/step, ${THREADS} at once ${together.map((r) => r.medianMs.toFixed(0)).join(' / ')}`,
      });
    } catch (e) {
      rows.push({ name: `ceiling ${name}`, group: 'ceiling', note: `FAILED: ${(e as Error).message}` });
    }
  };
  for (const spec of TRAIN_MODELS)
    await measureCeiling(`${spec.label} 8x96x96`, process.execPath, [
      '--import',
      'tsx',
      self,
      `--ceiling-child=${spec.label}`,
      ...(quick ? ['--quick'] : []),
    ]);
  if (torchSkipReason() === null) {
    const dir = await mkdtemp(join(tmpdir(), 'semseg-torch-ceiling-'));
    try {
      const script = join(dir, 'fcn.py');
      await writeFile(script, TORCH_SCRIPT);
      await measureCeiling('pytorch FCN-8s w1/4 compact 8x96x96', torchPython()!, [
        script,
        '_',
        '1',
        quick ? '2' : '5',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function rssSuite(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--rss-child'], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  try {
    const result = JSON.parse(line) as { peakRssMB: number; seconds: number; error: string | null };
    rows.push({
      name: 'FCN-8s full width 1x500x500 train step (wasm)',
      group: 'rss',
      medianMs: result.seconds * 1000,
      peakRssMB: result.peakRssMB,
      note: result.error ? `FAILED: ${result.error}` : 'peak RSS of the process',
    });
  } catch {
    rows.push({
      name: 'FCN-8s full width 1x500x500 train step (wasm)',
      group: 'rss',
      note: `child failed (status ${child.status}, signal ${child.signal}): ${(child.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`,
    });
  }
}

const ceilingLabel = args.find((a) => a.startsWith('--ceiling-child='))?.split('=')[1];
if (args.includes('--rss-child')) {
  await rssChild();
} else if (ceilingLabel) {
  await ceilingChild(ceilingLabel);
} else {
  const started = performance.now();
  if (wants('train')) await trainSuite();
  if (wants('eval')) await evalSuite();
  if (wants('vgg')) await vggSuite();
  if (wants('torch')) await torchSuite();
  if (wants('rss')) await rssSuite();
  if (wants('ceiling')) await ceilingSuite();
  for (const row of rows) {
    const base = row.baseline ? rows.find((r) => r.name === row.baseline) : undefined;
    if (!base) continue;
    // Speed-up for the thread rows (higher is better); cost ratio for the VGG16 step.
    if (row.group === 'vgg') row.ratio = (row.medianMs as number) / (base.medianMs as number);
    else row.ratio = (row.perSecond as number) / (base.perSecond as number);
  }
  printTable(
    `parallel (wasm, ${availableParallelism()} cores): ratio = speed-up over N=1 (train, eval) or step / forward (VGG16); ceiling = what ${THREADS} independent single-thread processes reach; pairedRatio = the median over rounds of N=1's time over the N-thread time next to it; computeBound = N=1's step over the slowest replica's compute (the speed-up if the exchange were free); computeSpread = the replicas' compute, slowest - fastest over their mean; oursOverTorch = our step / PyTorch's`,
    rows,
    [
      'name',
      'medianMs',
      'perSecond',
      'ratio',
      'pairedRatio',
      'computeBound',
      'computeSpread',
      'ceiling',
      'oursOverTorch',
      'peakRssMB',
      'note',
    ],
  );
  for (const note of notes) console.log(note);
  writeResults('parallel', {
    threads: THREADS,
    cores: availableParallelism(),
    quick,
    bars: { trainSpeedup: 1.7, evalSpeedup: 1.8, vggStepOverForward: 3 },
    seconds: (performance.now() - started) / 1000,
    rows,
    notes,
  });
}
