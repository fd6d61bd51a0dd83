import {
  copyFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfusionMatrix } from '@semseg/metrics';
import { decodeLabelPng, vocColorMap } from '@semseg/voc-data';
import { decodeNpy, encodeNpy } from '@semseg/weights';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOneLineFailure, requireBuild, semseg, semsegInterrupted } from './helpers/cli.js';

// The built CLI (dist/bin.js under plain node) on a tiny synthetic dataset: 8 images of 48x48
// with 4 classes, a width-1/32 FCN-8s, a handful of steps.
// What the machine has decides what `info` and `--backend node-gpu` must say (npm ci removes the
// optional tfjs-node-gpu where its libtensorflow download fails, as here).
const NODE_GPU_INSTALLED = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
})();

const work = mkdtempSync(join(tmpdir(), 'semseg-cli-e2e-'));
const data = join(work, 'data');
const run = join(work, 'run');
const MODEL = [
  '--model',
  'fcn8s',
  '--width',
  '1/32',
  '--model-config',
  '{"alignment":"compact","dropout":0.5}',
];
const TINY = ['--batch-size', '2', '--crop', '48', '--log-every', '1'];
// The bit-for-bit resume runs train on cpu, where a step on 32x32 crops of the 48x48 images takes
// under half the time of a 48x48 one (the crop offsets then come from the resumed data order too).
const RESUME_TINY = ['--batch-size', '2', '--crop', '32', '--log-every', '1'];

function readPng(path: string) {
  return decodeLabelPng(new Uint8Array(readFileSync(path)), path);
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  requireBuild();
  const synth = await semseg([
    'data',
    'synth',
    data,
    '--count',
    '8',
    '--min-size',
    '48',
    '--max-size',
    '48',
    '--classes',
    '4',
    '--seed',
    '3',
  ]);
  expect(synth.code, synth.stderr).toBe(0);
});

describe('semseg end to end', () => {
  it('validates the synthetic dataset', async () => {
    const result = await semseg(['data', 'validate', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ok, 8 samples checked/);
  });

  it('trains, writes checkpoints and a JSONL log', async () => {
    const result = await semseg([
      'train',
      ...MODEL,
      ...TINY,
      '--data',
      data,
      '--out',
      run,
      '--steps',
      '3',
      '--backend',
      'wasm',
      '--optimizer',
      'adam',
      '--lr',
      '2e-3',
      '--eval-every',
      '3',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /trained 3 steps .* on wasm: loss \d+\.\d+, val mIoU \d+\.\d+; checkpoint .*final/,
    );
    expect(result.stderr).toMatch(/training fcn8s on wasm/);
    expect(readdirSync(run).sort()).toEqual(['final', 'latest', 'run.json', 'train.jsonl']);
    const events = readFileSync(join(run, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event);
    expect(events.filter((e) => e === 'step')).toHaveLength(3);
    expect(events).toContain('eval');
  });

  it('evaluates to JSON, and shards merge into exactly the one-pass matrix', async () => {
    const whole = await semseg([
      'eval',
      '--checkpoint',
      join(run, 'final'),
      '--data',
      data,
      '--split',
      'trainval',
      '--json',
      join(work, 'all.json'),
      '--backend',
      'wasm',
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/trainval: 8 images on wasm/);
    const all = JSON.parse(readFileSync(join(work, 'all.json'), 'utf8'));
    expect(all).toMatchObject({ format: 'semseg-eval', version: 1, images: 8, split: 'trainval' });
    for (const key of ['mIoU', 'mAcc', 'aAcc', 'fwIoU']) expect(typeof all.metrics[key]).toBe('number');
    expect(all.metrics.perClass[0]).toMatchObject({ class: 'background' });
    for (const i of [0, 1, 2]) {
      const shard = await semseg(
        [
          'eval',
          '--checkpoint',
          join(run, 'final'),
          '--data',
          data,
          '--split',
          'trainval',
          '--shard',
          'auto/3',
          '--json',
          join(work, `shard-${i}.json`),
          '--backend',
          'wasm',
        ],
        {
          env: { JOB_COMPLETION_INDEX: String(i) },
        },
      );
      expect(shard.code, shard.stderr).toBe(0);
    }
    const merged = await semseg([
      'eval',
      '--merge',
      ...[0, 1, 2].map((i) => join(work, `shard-${i}.json`)),
      '--json',
      join(work, 'merged.json'),
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(work, 'merged.json'), 'utf8'));
    expect(m.images).toBe(8);
    expect(Array.from(ConfusionMatrix.fromJSON(m.matrix).getCounts())).toEqual(
      Array.from(ConfusionMatrix.fromJSON(all.matrix).getCounts()),
    );
    expect(m.metrics).toEqual(all.metrics);
  });

  it('predicts palette-indexed label PNGs, overlays and probabilities', async () => {
    const images = join(data, 'JPEGImages');
    const out = join(work, 'pred');
    const result = await semseg([
      'predict',
      '--checkpoint',
      join(run, 'final'),
      images,
      '--out',
      out,
      '--overlay',
      '--probs',
      '--backend',
      'wasm',
      '--flip',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const files = readdirSync(out);
    expect(files.filter((f) => f.endsWith('.overlay.png'))).toHaveLength(8);
    const id = '2000_000001';
    const label = readPng(join(out, `${id}.png`));
    expect([label.width, label.height]).toEqual([48, 48]);
    expect(label.palette!.slice(0, 21)).toEqual(vocColorMap(21));
    const probs = decodeNpy(new Uint8Array(readFileSync(join(out, `${id}.npy`))));
    // 21 outputs: the dataset's classes are VOC's, whichever of them the images use.
    expect(probs.shape).toEqual([48, 48, 21]);
    // The label PNG holds the argmax of the probabilities, as class indices.
    for (let p = 0; p < 48 * 48; p++) {
      const row = probs.data.subarray(p * 21, p * 21 + 21);
      expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-4);
      expect(label.indices[p]).toBe(row.indexOf(Math.max(...row)));
    }
  });

  it('evaluates by sliding windows at two scales, and predicts through the CRF', async () => {
    const slide = await semseg([
      'eval',
      '--checkpoint',
      join(run, 'final'),
      '--data',
      data,
      '--mode',
      'slide',
      '--crop',
      '32',
      '--stride',
      '16',
      '--scales',
      '0.75,1',
      '--crf',
      'deconv-net',
      '--backend',
      'wasm',
    ]);
    expect(slide.code, slide.stderr).toBe(0);
    expect(slide.stdout).toMatch(/val: 2 images on wasm/);
    expect(slide.stdout).toMatch(/with CRF:/);
    const out = join(work, 'pred-crf');
    const image = join(data, 'JPEGImages', '2000_000002.jpg');
    const result = await semseg([
      'predict',
      '--checkpoint',
      join(run, 'final'),
      image,
      '--out',
      out,
      '--crf',
      '--probs',
      '--backend',
      'wasm',
    ]);
    expect(result.code, result.stderr).toBe(0);
    // With --crf, --probs holds the CRF's marginals and the labels are their argmax.
    const q = decodeNpy(new Uint8Array(readFileSync(join(out, '2000_000002.npy'))));
    const labels = readPng(join(out, '2000_000002.png'));
    for (let p = 0; p < labels.indices.length; p++) {
      const row = q.data.subarray(p * 21, p * 21 + 21);
      expect(labels.indices[p]).toBe(row.indexOf(Math.max(...row)));
    }
  });

  it('runs the CRF on saved probabilities and writes labels and Q', async () => {
    const id = '2000_000001';
    const out = join(work, 'crf');
    const result = await semseg([
      'crf',
      join(data, 'JPEGImages', `${id}.jpg`),
      '--probs',
      join(work, 'pred', `${id}.npy`),
      '--out',
      join(out, 'labels.png'),
      '--gaussian',
      'sxy=3,compat=3',
      '--bilateral',
      'sxy=80,srgb=13,compat=10',
      '--iterations',
      '5',
      '--out-q',
      join(out, 'q.npy'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const q = decodeNpy(new Uint8Array(readFileSync(join(out, 'q.npy'))));
    expect(q.shape).toEqual([48, 48, 21]);
    const labels = readPng(join(out, 'labels.png'));
    for (let p = 0; p < 48 * 48; p++) {
      const row = q.data.subarray(p * 21, p * 21 + 21);
      expect(labels.indices[p]).toBe(row.indexOf(Math.max(...row)));
    }
  });

  it('resumes exactly: interrupted with Ctrl-C and resumed equals straight, bit for bit (cpu, 2 replica threads)', async () => {
    const args = [
      'train',
      ...MODEL,
      ...RESUME_TINY,
      '--data',
      data,
      '--steps',
      '5',
      '--backend',
      'cpu',
      '--seed',
      '7',
      '--threads',
      '2',
    ];
    const straight = await semseg([...args, '--out', join(work, 'straight')]);
    expect(straight.code, straight.stderr).toBe(0);
    expect(straight.stderr).toMatch(/training fcn8s on cpu[^,]*, 2 replica threads:/);
    const interrupted = await semsegInterrupted([...args, '--out', join(work, 'resumed')], /step 2\/5/);
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(
      /interrupted at step [2-4]; checkpoint .*latest; continue with: semseg train --out .* --resume/,
    );
    const resumed = await semseg(['train', '--out', join(work, 'resumed'), '--resume', '--backend', 'cpu']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step [2-4]/);
    const weights = (dir: string) => readFileSync(join(work, dir, 'final', 'weights.bin'));
    expect(weights('resumed').equals(weights('straight'))).toBe(true);
  });
});

describe('resume with more steps', () => {
  it('N/2 steps, then --resume --steps N, equals N straight, bit for bit (cpu, fixed lr)', async () => {
    // With a fixed rate the schedule does not depend on the total, so a run may be extended.
    const args = [
      'train',
      ...MODEL,
      ...RESUME_TINY,
      '--data',
      data,
      '--backend',
      'cpu',
      '--seed',
      '5',
      '--lr-policy',
      'fixed',
      '--optimizer',
      'sgd',
      '--momentum',
      '0.9',
    ];
    expect((await semseg([...args, '--steps', '4', '--out', join(work, 'fixed-straight')])).code).toBe(0);
    expect((await semseg([...args, '--steps', '2', '--out', join(work, 'fixed-halves')])).code).toBe(0);
    const second = await semseg([
      'train',
      '--out',
      join(work, 'fixed-halves'),
      '--resume',
      '--steps',
      '4',
      '--backend',
      'cpu',
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/4 steps, resuming at step 2/);
    const weights = (dir: string) => readFileSync(join(work, dir, 'final', 'weights.bin'));
    expect(weights('fixed-halves').equals(weights('fixed-straight'))).toBe(true);
  });
});

describe('info, bench and demo', () => {
  it('info names the backends, what auto picks and why, and the models', async () => {
    const result = await semseg(['info']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/yes wasm/);
    expect(result.stdout).toMatch(
      NODE_GPU_INSTALLED
        ? /(yes|no ) node-gpu /
        : /no {2}node-gpu +package '@tensorflow\/tfjs-node-gpu' is not installed/,
    );
    expect(result.stdout).toMatch(/auto picks: (wasm|webgpu|node-gpu)/);
    expect(result.stdout).toMatch(/skipped node-gpu: /);
    expect(result.stdout).toMatch(/fcn8s +FCN-8s/);
  });

  it('--backend webgpu keeps a VK_ICD_FILENAMES the user set', async () => {
    const result = await semseg(['info'], { env: { VK_ICD_FILENAMES: '/nonexistent/icd.json' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /no {2}webgpu +Dawn found no WebGPU adapter \(VK_ICD_FILENAMES=\/nonexistent\/icd\.json\)/,
    );
    expect(result.stdout).toMatch(/auto picks: (wasm|node-gpu)/);
  });

  it('bench times the model and the CRF', async () => {
    const result = await semseg([
      'bench',
      '--backends',
      'wasm',
      '--size',
      '32',
      '--batch',
      '1',
      '--repeats',
      '1',
      '--json',
      join(work, 'bench.json'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(join(work, 'bench.json'), 'utf8')).rows as Array<{
      case: string;
      medianMs: number;
    }>;
    expect(rows.map((r) => r.case)).toEqual([
      'forward fcn8s width 0.125 1x32x32',
      'train step fcn8s width 0.125 1x32x32',
      'deeplabV1, 10 iterations, 32x32x21',
      'deeplabV1, 10 iterations, 64x64x21',
    ]);
    for (const row of rows) expect(row.medianMs).toBeGreaterThan(0);
  });

  it('demo runs the whole pipeline within its deadline and writes the report', async () => {
    const out = join(work, 'demo');
    // 0.1 min (not 0.2): still the warm-up, then at least 10 more steps under the deadline.
    const result = await semseg([
      'demo',
      '--out',
      out,
      '--minutes',
      '0.1',
      '--images',
      '16',
      '--backend',
      'wasm',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^val mIoU \d+\.\d+ without CRF, \d+\.\d+ with CRF \(deeplabV1\); predicting the most frequent class everywhere scores \d+\.\d+/,
    );
    expect(result.stdout).toMatch(/FCN-8s width 0\.125, \d+ steps of batch 8 \(64x64 crops\) on wasm/);
    const report = readFileSync(join(out, 'demo-report.md'), 'utf8');
    expect(report).toMatch(/\| Class +\| +IoU +\| +Acc +\|/);
    expect(report).toMatch(/!\[training loss and validation mIoU\]\(curve\.png\)/);
    expect(readdirSync(join(out, 'predictions')).filter((f) => f.endsWith('.overlay.png'))).toHaveLength(4);
    expect(readFileSync(join(out, 'curve.png')).subarray(1, 4).toString()).toBe('PNG');
    // A folder that holds something else is refused.
    writeFileSync(join(work, 'not-a-demo.txt'), 'x');
    expectOneLineFailure(await semseg(['demo', '--out', work]), /is not empty and holds no earlier demo/);
  });
});

describe('bad input: non-zero exit, one line, no stack trace', () => {
  const final = () => join(run, 'final');

  it('a missing data root', async () => {
    expectOneLineFailure(
      await semseg([
        'train',
        ...MODEL,
        '--data',
        join(work, 'nope'),
        '--out',
        join(work, 'x'),
        '--backend',
        'cpu',
      ]),
      /nope/,
    );
    expectOneLineFailure(await semseg(['data', 'validate', join(work, 'nope')]), /nope/);
  });

  it('a corrupt checkpoint', async () => {
    const broken = join(work, 'broken');
    cpSync(final(), broken, { recursive: true });
    truncateSync(join(broken, 'weights.bin'), 100);
    expectOneLineFailure(
      await semseg(['eval', '--checkpoint', broken, '--data', data, '--backend', 'cpu']),
      /weights/,
    );
    writeFileSync(join(broken, 'model.json'), '{ not json');
    expectOneLineFailure(
      await semseg([
        'predict',
        '--checkpoint',
        broken,
        join(data, 'JPEGImages'),
        '--out',
        join(work, 'x'),
        '--backend',
        'cpu',
      ]),
      /model\.json/,
    );
    expectOneLineFailure(
      await semseg(['eval', '--checkpoint', join(work, 'no-checkpoint'), '--data', data, '--backend', 'cpu']),
      /checkpoint not found/,
    );
  });

  it('a split smaller than one batch', async () => {
    expectOneLineFailure(
      await semseg(['train', ...MODEL, '--data', data, '--out', join(work, 'x'), '--batch-size', '8']),
      /split 'train' has 6 images, fewer than one batch of 8/,
    );
  });

  it('a run folder that already holds a run', async () => {
    expectOneLineFailure(
      await semseg(['train', ...MODEL, ...TINY, '--data', data, '--out', run]),
      /already holds a run; continue it with --resume/,
    );
  });

  it('an unknown model', async () => {
    expectOneLineFailure(
      await semseg(['train', '--model', 'fcn4s', '--data', data, '--out', join(work, 'x')]),
      /unknown model 'fcn4s'; registered models: .*\bdeeplab-v1\b.*\bfcn16s, fcn32s, fcn8s\b/,
    );
  });

  it('bad flag values', async () => {
    const train = ['train', ...MODEL, '--data', data, '--out', join(work, 'x')];
    expectOneLineFailure(await semseg([...train, '--lr', 'abc']), /--lr <rate>.*'abc' is not a number/);
    expectOneLineFailure(await semseg([...train, '--steps', '0']), /--steps.*whole number >= 1/);
    expectOneLineFailure(await semseg([...train, '--crop', '0x5']), /--crop/);
    expectOneLineFailure(
      await semseg([...train, '--backend', 'tpu']),
      /--backend.*Allowed choices are auto, node-gpu, webgpu, wasm, cpu/,
    );
    expectOneLineFailure(await semseg([...train, '--width', '2']), /--width.*\(0, 1\]/);
    expectOneLineFailure(
      await semseg([...train, ...TINY, '--lr-policy', 'step']),
      /step lr policy needs a step size \(--lr-step-size/,
    );
    expectOneLineFailure(await semseg([...train, '--steps', '5', '--epochs', '2']), /cannot be used with/);
    expectOneLineFailure(
      await semseg(['eval', '--checkpoint', final(), '--data', data, '--shard', '3/3']),
      /shard index 3 is outside 0..2/,
    );
    expectOneLineFailure(
      await semseg(['eval', '--checkpoint', final(), '--data', data, '--scales', '0,1']),
      /--scales.*scale '0'/,
    );
    expectOneLineFailure(
      await semseg(['eval', '--checkpoint', final(), '--data', data, '--crop', '64']),
      /--crop and --stride apply to --mode slide/,
    );
    expectOneLineFailure(
      await semseg(['crf', 'x.jpg', '--probs', 'p.npy', '--out', 'o.png', '--bilateral', 'sxy=80,foo=1']),
      /unknown key 'foo'/,
    );
    expectOneLineFailure(await semseg(['trian']), /unknown command 'trian'/);
  });

  it('an image that cannot be decoded', async () => {
    const bad = join(work, 'bad-images');
    cpSync(join(data, 'JPEGImages', '2000_000000.jpg'), join(bad, 'good.jpg'));
    writeFileSync(join(bad, 'broken.jpg'), 'this is not a JPEG');
    expectOneLineFailure(
      await semseg(['predict', '--checkpoint', final(), bad, '--out', join(work, 'x'), '--backend', 'cpu']),
      /broken\.jpg: corrupt or unreadable image/,
    );
    expectOneLineFailure(
      await semseg(['predict', '--checkpoint', final(), join(work, 'missing.jpg'), '--out', join(work, 'x')]),
      /missing\.jpg: no such image/,
    );
  });

  it('.npy files of the wrong kind or shape', async () => {
    const image = join(data, 'JPEGImages', '2000_000000.jpg');
    const f64 = join(work, 'f64.npy');
    copyFileSync(new URL('fixtures/f64-2x3x2.npy', import.meta.url), f64);
    expectOneLineFailure(
      await semseg(['crf', image, '--probs', f64, '--out', join(work, 'x.png')]),
      /dtype '<f8' is not supported/,
    );
    const wrong = join(work, 'wrong.npy');
    writeFileSync(wrong, encodeNpy(new Float32Array(10 * 10 * 4).fill(0.25), [10, 10, 4]));
    expectOneLineFailure(
      await semseg(['crf', image, '--probs', wrong, '--out', join(work, 'x.png')]),
      /does not match the image \(47 x 47\)/,
    );
    expectOneLineFailure(
      await semseg(['crf', image, '--out', join(work, 'x.png')]),
      /exactly one of --probs/,
    );
  });

  it('shard files that do not merge', async () => {
    writeFileSync(join(work, 'other.json'), '{"hello": 1}');
    expectOneLineFailure(
      await semseg(['eval', '--merge', join(work, 'other.json')]),
      /not a 'semseg eval --json' file/,
    );
    expectOneLineFailure(
      await semseg(['eval', '--merge', join(work, 'shard-0.json'), join(work, 'shard-0.json')]),
      /shard 0\/3 is given twice/,
    );
  });

  it.skipIf(NODE_GPU_INSTALLED)('node-gpu where it is not installed says why and how to fix it', async () => {
    expectOneLineFailure(
      await semseg([
        'train',
        ...MODEL,
        ...TINY,
        '--data',
        data,
        '--out',
        join(work, 'x'),
        '--backend',
        'node-gpu',
      ]),
      /not installed\. Install it with 'npm install @tensorflow\/tfjs-node-gpu@4\.22\.0' \(needs .*CUDA 11\.2 and cuDNN 8\.1/,
    );
  });
});
