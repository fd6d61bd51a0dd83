import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfusionMatrix } from '@semseg/metrics';
import { VOC_CLASSES, decodeLabelPng } from '@semseg/voc-data';
import { decodeNpy } from '@semseg/weights';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, expectOneLineFailure, requireBuild, semseg } from './helpers/cli.js';

// The built CLI on two tiny FCN-8s (width 1/32, compact alignment) trained here for two steps
// from different seeds, on 6 synthetic images of about 32x32: ensembles, proposal-wise evaluation, and
// what predict and eval --merge refuse.
const work = mkdtempSync(join(tmpdir(), 'semseg-ensemble-e2e-'));
const data = join(work, 'data');
const images = join(data, 'JPEGImages');
const checkpointA = join(work, 'run-a', 'final');
const checkpointB = join(work, 'run-b', 'final');
const checkpointDeconv = join(work, 'run-deconv', 'final');
const WASM = ['--backend', 'wasm'];
const SIZE = 32;

afterAll(() => rmSync(work, { recursive: true, force: true }));

function ok(result: CliResult): CliResult {
  expect(result.code, result.stderr).toBe(0);
  return result;
}

async function train(
  out: string,
  seed: number,
  model = ['--model', 'fcn8s', '--model-config', '{"alignment":"compact"}'],
): Promise<void> {
  ok(
    await semseg([
      'train',
      ...model,
      '--width',
      '1/32',
      '--data',
      data,
      '--out',
      out,
      '--steps',
      '2',
      '--batch-size',
      '2',
      '--crop',
      String(SIZE),
      '--optimizer',
      'adam',
      '--lr',
      '1e-2',
      '--seed',
      String(seed),
      '--eval-every',
      '100',
      ...WASM,
    ]),
  );
}

beforeAll(async () => {
  requireBuild();
  ok(
    await semseg([
      'data',
      'synth',
      data,
      '--count',
      '6',
      '--min-size',
      String(SIZE),
      '--max-size',
      String(SIZE),
      '--classes',
      '3',
      '--seed',
      '11',
    ]),
  );
  await train(join(work, 'run-a'), 1);
  await train(join(work, 'run-b'), 2);
  // DeconvNet declares its paper's CRF preset (deconvNet); 'same' fc6 padding takes 32x32 crops.
  await train(join(work, 'run-deconv'), 3, [
    '--model',
    'deconvnet',
    '--model-config',
    '{"fc6Padding":"same"}',
  ]);
}, 60_000);

const ids = () =>
  readdirSync(images)
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => f.replace(/\.jpg$/, ''))
    .sort();

function labels(path: string): Uint8Array {
  return decodeLabelPng(new Uint8Array(readFileSync(path)), path).indices;
}

function probs(path: string) {
  return decodeNpy(new Uint8Array(readFileSync(path)));
}

function weightsSha256(checkpoint: string): string {
  return JSON.parse(readFileSync(join(checkpoint, 'model.json'), 'utf8')).weightsSha256;
}

describe('ensembles and proposals through the built CLI', () => {
  it('predict --checkpoint a --checkpoint b: the argmax of the mean of the two models’ probabilities', async () => {
    for (const [name, checkpoints] of [
      ['a', [checkpointA]],
      ['b', [checkpointB]],
      ['ab', [checkpointA, checkpointB]],
    ] as const) {
      ok(
        await semseg([
          'predict',
          ...checkpoints.flatMap((c) => ['--checkpoint', c]),
          images,
          '--out',
          join(work, `pred-${name}`),
          '--probs',
          '--quiet',
          ...WASM,
        ]),
      );
    }
    let largestGap = 0;
    let nearTies = 0;
    for (const id of ids()) {
      const a = probs(join(work, 'pred-a', `${id}.npy`));
      const b = probs(join(work, 'pred-b', `${id}.npy`));
      const ab = probs(join(work, 'pred-ab', `${id}.npy`));
      const predicted = labels(join(work, 'pred-ab', `${id}.png`));
      const [height, width, classes] = a.shape as [number, number, number];
      expect(ab.shape).toEqual(a.shape);
      expect(predicted).toHaveLength(height * width);
      for (let i = 0; i < a.data.length; i++) {
        largestGap = Math.max(largestGap, Math.abs(a.data[i]! - b.data[i]!));
        expect(Math.abs(ab.data[i]! - (a.data[i]! + b.data[i]!) / 2)).toBeLessThan(1e-6);
      }
      for (let p = 0; p < height * width; p++) {
        let best = 0;
        let second = Number.NEGATIVE_INFINITY;
        const mean = (c: number) => (a.data[p * classes + c]! + b.data[p * classes + c]!) / 2;
        for (let c = 1; c < classes; c++) {
          if (mean(c) > mean(best)) {
            second = mean(best);
            best = c;
          } else second = Math.max(second, mean(c));
        }
        // Where the two best means are within float32 rounding, either label is right.
        if (mean(best) - second < 1e-6) nearTies++;
        else expect(predicted[p]).toBe(best);
      }
    }
    // The two models differ, so the mean is not just one of them.
    expect(largestGap).toBeGreaterThan(1e-3);
    expect(nearTies).toBeLessThan(10);
  });

  it('eval --proposals auto scores exactly the labels predict --proposals auto writes', async () => {
    const json = join(work, 'proposals.json');
    const both = ['--checkpoint', checkpointA, '--checkpoint', checkpointB];
    const evaluated = ok(
      await semseg([
        'eval',
        ...both,
        '--data',
        data,
        '--split',
        'trainval',
        '--proposals',
        'auto',
        '--json',
        json,
        ...WASM,
      ]),
    );
    expect(evaluated.stdout).toMatch(/^trainval: 6 images on wasm/);
    ok(
      await semseg([
        'predict',
        ...both,
        images,
        '--out',
        join(work, 'pred-proposals'),
        '--proposals',
        'auto',
        '--quiet',
        ...WASM,
      ]),
    );
    const record = JSON.parse(readFileSync(json, 'utf8'));
    expect(record.inference).toEqual({
      mode: 'whole',
      scales: [1],
      flip: false,
      proposals: 'auto',
      runtime: 'tfjs',
    });
    expect(record.checkpointSha256).toEqual([weightsSha256(checkpointA), weightsSha256(checkpointB)]);
    const matrix = new ConfusionMatrix(record.classes.length, { ignoreIndex: 255 });
    for (const id of ids()) {
      matrix.update(
        labels(join(work, 'pred-proposals', `${id}.png`)),
        labels(join(data, 'SegmentationClass', `${id}.png`)),
      );
    }
    expect(Array.from(ConfusionMatrix.fromJSON(record.matrix).getCounts())).toEqual(
      Array.from(matrix.getCounts()),
    );
  });
});

describe('predict never writes over its inputs or files it did not write', () => {
  const first = () => ids()[0]!;

  it('refuses an --out that holds inputs of the same names, even with --overwrite', async () => {
    const folder = join(work, 'in-place');
    mkdirSync(folder);
    for (const id of ids().slice(0, 2))
      cpSync(join(data, 'SegmentationClass', `${id}.png`), join(folder, `${id}.png`));
    const before = readdirSync(folder).map((f) => readFileSync(join(folder, f)));
    for (const extra of [[], ['--overwrite']]) {
      expectOneLineFailure(
        await semseg(['predict', '--checkpoint', checkpointA, folder, '--out', folder, ...extra, ...WASM]),
        new RegExp(`in-place/${first()}\\.png would overwrite the input .*in-place/${first()}\\.png`),
      );
    }
    expect(readdirSync(folder).map((f) => readFileSync(join(folder, f)))).toEqual(before);
  });

  it('refuses an output that links to an input, even with --overwrite', async () => {
    const out = join(work, 'linked');
    mkdirSync(out);
    const input = join(images, `${first()}.jpg`);
    symlinkSync(input, join(out, `${first()}.png`));
    expectOneLineFailure(
      await semseg(['predict', '--checkpoint', checkpointA, input, '--out', out, '--overwrite', ...WASM]),
      /linked\/.*\.png would overwrite the input .*\.jpg/,
    );
  });

  it('replaces an existing file only with --overwrite, through a temporary name', async () => {
    const out = join(work, 'existing');
    mkdirSync(out);
    const target = join(out, `${first()}.png`);
    writeFileSync(target, 'a file of the user');
    const input = join(images, `${first()}.jpg`);
    expectOneLineFailure(
      await semseg(['predict', '--checkpoint', checkpointA, input, '--out', out, ...WASM]),
      /existing\/.*\.png already exists and this run did not write it; pass --overwrite/,
    );
    expect(readFileSync(target, 'utf8')).toBe('a file of the user');
    ok(
      await semseg([
        'predict',
        '--checkpoint',
        checkpointA,
        input,
        '--out',
        out,
        '--overwrite',
        '--quiet',
        ...WASM,
      ]),
    );
    expect(labels(target).length).toBeGreaterThan(0);
    expect(readdirSync(out)).toEqual([`${first()}.png`]);
  });

  it('an undecodable image is one line naming it; the other images are still written', async () => {
    const folder = join(work, 'some-broken');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a-broken.jpg'), 'not a JPEG');
    cpSync(join(images, `${first()}.jpg`), join(folder, 'b-good.jpg'));
    const out = join(work, 'some-broken-out');
    const result = await semseg(['predict', '--checkpoint', checkpointA, folder, '--out', out, ...WASM]);
    expectOneLineFailure(result, /a-broken\.jpg: .*(corrupt|unreadable)/);
    expect(result.stdout).toMatch(/b-good\.jpg -> .*b-good\.png/);
    expect(result.stdout).toMatch(/1 of 2 images could not be read/);
    expect(readdirSync(out)).toEqual(['b-good.png']);
  });
});

describe('eval --merge checks that the shards belong together', () => {
  const shardJson = (name: string) => join(work, `shard-${name}.json`);
  const evalShard = async (name: string, checkpoint: string, shard: string, ...extra: string[]) =>
    ok(
      await semseg([
        'eval',
        '--checkpoint',
        checkpoint,
        '--data',
        data,
        '--split',
        'trainval',
        '--shard',
        shard,
        '--json',
        shardJson(name),
        ...extra,
        ...WASM,
      ]),
    );
  const merge = (...args: string[]) => semseg(['eval', '--merge', ...args]);

  beforeAll(async () => {
    await evalShard('0', checkpointA, '0/3');
    await evalShard('1', checkpointA, '1/3');
    await evalShard('2', checkpointA, '2/3');
    await evalShard('b1', checkpointB, '1/3');
    await evalShard('flip1', checkpointA, '1/3', '--flip');
    await evalShard('half1', checkpointA, '1/2');
  }, 60_000);

  it('names a missing shard; --allow-partial merges what is there and says partial', async () => {
    expectOneLineFailure(
      await merge(shardJson('0'), shardJson('2')),
      /^semseg: shard 1\/3 missing: 2 of 3 shards given \(--allow-partial merges what is there\)$/,
    );
    const out = join(work, 'partial.json');
    const partial = ok(await merge(shardJson('0'), shardJson('2'), '--allow-partial', '--json', out));
    expect(partial.stdout).toMatch(
      /^merged 2 files, shards 2 of 3, \d+ images \(PARTIAL: shard 1\/3 missing/,
    );
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({
      partial: { missingShards: [1], unverified: [] },
      shards: { count: 3, indices: [0, 2] },
    });
    const complete = ok(await merge(shardJson('0'), shardJson('1'), shardJson('2')));
    expect(complete.stdout).toMatch(/^merged 3 files, shards 3 of 3, 6 images\n/);
  });

  it('refuses another checkpoint, other inference settings or another shard count', async () => {
    expectOneLineFailure(
      await merge(shardJson('0'), shardJson('b1'), shardJson('2'), '--allow-partial'),
      /shard-b1\.json: its checkpoint \(sha256 [0-9a-f]{12}\) differs from .*shard-0\.json's \(sha256 [0-9a-f]{12}\)$/,
    );
    expectOneLineFailure(
      await merge(shardJson('0'), shardJson('flip1'), shardJson('2')),
      /shard-flip1\.json: its inference settings \(.*"flip":true.*\) differs from .*shard-0\.json's/,
    );
    expectOneLineFailure(
      await merge(shardJson('0'), shardJson('half1')),
      /shard-half1\.json: it is a shard of 2 but .*shard-0\.json is a shard of 3/,
    );
  });

  it('reads a record written before the hash and says what it lacks', async () => {
    const {
      checkpointSha256: _hash,
      inference: _settings,
      ...old
    } = JSON.parse(readFileSync(shardJson('1'), 'utf8'));
    writeFileSync(shardJson('old1'), JSON.stringify(old));
    expectOneLineFailure(
      await merge(shardJson('0'), shardJson('old1'), shardJson('2')),
      /shard-old1\.json: the record lacks the checkpoint's hash and inference settings \(written by an older semseg eval\)/,
    );
    expect(
      ok(await merge(shardJson('0'), shardJson('old1'), shardJson('2'), '--allow-partial')).stdout,
    ).toMatch(/PARTIAL: .*shard-old1\.json: the record lacks/);
  });
});

describe('eval --crf and --classes follow the checkpoint', () => {
  it('a bare --crf runs the model’s preset (fcn8s declares none: the default) and says which', async () => {
    const json = join(work, 'crf.json');
    const result = ok(
      await semseg([
        'eval',
        '--checkpoint',
        checkpointA,
        '--data',
        data,
        '--split',
        'val',
        '--crf',
        '--json',
        json,
        ...WASM,
      ]),
    );
    expect(result.stdout).toMatch(/\nwith CRF:\ncrf: deeplabV1, the default \(fcn8s declares none\)\n/);
    expect(JSON.parse(readFileSync(json, 'utf8')).crf.settings).toBe('deeplabV1');
  });

  it('an ensemble’s bare --crf is its first checkpoint’s model’s preset, and that preset runs', async () => {
    const image = join(images, `${ids()[0]}.jpg`);
    const q = async (name: string, checkpoints: string[], crf: string[]) => {
      const out = join(work, `crf-${name}`);
      const result = ok(
        await semseg([
          'predict',
          ...checkpoints.flatMap((c) => ['--checkpoint', c]),
          image,
          '--out',
          out,
          '--probs',
          ...crf,
          ...WASM,
        ]),
      );
      return { stdout: result.stdout, q: readFileSync(join(out, `${ids()[0]}.npy`)) };
    };
    const deconvFirst = await q('deconv-first', [checkpointDeconv, checkpointA], ['--crf']);
    expect(deconvFirst.stdout).toMatch(/^crf: deconvNet, the preset deconvnet declares$/m);
    const fcnFirst = await q('fcn-first', [checkpointA, checkpointDeconv], ['--crf']);
    expect(fcnFirst.stdout).toMatch(/^crf: deeplabV1, the default \(fcn8s declares none\)$/m);
    // The marginals are those of the named presets, which differ from each other.
    expect(
      deconvFirst.q.equals(
        (await q('named-deconv', [checkpointDeconv, checkpointA], ['--crf', 'deconvNet'])).q,
      ),
    ).toBe(true);
    expect(
      fcnFirst.q.equals(
        (await q('named-deeplab', [checkpointA, checkpointDeconv], ['--crf', 'deeplabV1'])).q,
      ),
    ).toBe(true);
    expect(deconvFirst.q.equals(fcnFirst.q)).toBe(false);
  });

  it('--classes must equal the checkpoint’s classes, else a line that shows both', async () => {
    expectOneLineFailure(
      await semseg([
        'eval',
        '--checkpoint',
        checkpointA,
        '--data',
        data,
        '--classes',
        'background,cat,dog',
        ...WASM,
      ]),
      /--classes \(3: background, cat, dog\) differ from .*model\.json's classes \(21: background, aeroplane, .*tvmonitor\)$/,
    );
    const file = join(work, 'classes.txt');
    writeFileSync(file, `${VOC_CLASSES.join('\n')}\n`);
    ok(
      await semseg([
        'eval',
        '--checkpoint',
        checkpointA,
        '--data',
        data,
        '--split',
        'val',
        '--classes',
        file,
        ...WASM,
      ]),
    );
    expect(existsSync(file)).toBe(true);
  });
});
