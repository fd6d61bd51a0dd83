// Fine-tuning in a real browser: Debian's Chromium drives the built page (the same server and
// launch as browser.test.ts). The bundled FCN-8s is fine-tuned for a few steps on marks brushed on
// a sample image, on WebGPU (SwiftShader) and on wasm, each in the panel's Web Worker. The
// checkpoint downloaded from the page is then checked in Node, independently of the page: its
// cross-entropy on the marked pixels is below the demo checkpoint's and its labels agree with the
// marks on more of them; `semseg eval` (the built CLI) loads it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { predictImage } from '@semseg/engine';
import { loadModel } from '@semseg/engine/node';
import '@semseg/fcn';
import { decodeLabelPng, encodeLabelPng } from '@semseg/voc-data';
import * as tf from '@tensorflow/tfjs-core';
import { decode, encode } from 'fast-png';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementOnMarks } from '../../src/finetune/marks.js';
import { type BrowserSession, launchChromium, requireChromium } from './chromium.js';
import { DEMO_CHECKPOINT } from './reference.js';
import { APP_DIR, type PreviewServer, ensureBuilt, startPreview } from './server.js';

const SAMPLE = join(APP_DIR, 'public', 'samples', 'synthetic-1.png');
const DOCS = join(APP_DIR, 'docs');
const CLI = resolve(APP_DIR, '..', 'cli', 'bin', 'semseg.js');
const WASM_STEPS = 12;
const WEBGPU_STEPS = 3;
const log = (line: string) => console.log(`[e2e finetune] ${line}`);

let server: PreviewServer | undefined;
let page: Page;
let browser: BrowserSession | undefined;
let work: string;
type Size = { width: number; height: number };
type RgbImage = Size & { data: Uint8Array };
let sample: RgbImage;
let crop: RgbImage;
const CROP = 64;

/** Node's view of a checkpoint on the marked pixels: labels and mean cross-entropy (eval mode, cpu). */
async function scoreOnMarks(checkpointDir: string, image: RgbImage, marks: Uint8Array) {
  const { model, meta } = await loadModel(checkpointDir);
  try {
    model.eval();
    const prediction = predictImage(model, image, { normalization: meta.normalization });
    let loss = 0;
    let marked = 0;
    for (let p = 0; p < marks.length; p++) {
      if (marks[p] === 255) continue;
      loss -= Math.log(Math.max(prediction.probabilities[p * prediction.numClasses + marks[p]!]!, 1e-30));
      marked++;
    }
    return {
      loss: loss / marked,
      agreement: agreementOnMarks(marks, prediction.labels),
      labels: prediction.labels,
    };
  } finally {
    model.dispose();
  }
}

async function saveDownload(selector: string, dir: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = join(dir, download.suggestedFilename());
  await download.saveAs(path);
  return path;
}

/** Drags the brush along image-pixel points of the fine-tune canvas. */
async function brush(size: Size, classIndex: number, points: Array<[number, number]>): Promise<void> {
  await page.click(`#ft-classes [data-class="${classIndex}"]`);
  const box = (await page.locator('#ft-canvas').boundingBox())!;
  const at = ([x, y]: [number, number]) =>
    [box.x + ((x + 0.5) / size.width) * box.width, box.y + ((y + 0.5) / size.height) * box.height] as const;
  const [x0, y0] = at(points[0]!);
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  for (const point of points.slice(1)) {
    const [x, y] = at(point);
    await page.mouse.move(x, y, { steps: 8 });
  }
  await page.mouse.up();
}

/** A band of "person" across the middle, background along the top and bottom; the eraser unmarks the centre. */
async function brushMarks(size: Size): Promise<number> {
  await page.locator('#finetune').scrollIntoViewIfNeeded();
  const { width: w, height: h } = size;
  const radius = Math.max(2, Math.round(w / 25));
  await page.fill('#ft-brush', String(radius));
  await brush(size, 15, [
    [4, Math.round(h * 0.5)],
    [w - 4, Math.round(h * 0.5)],
  ]);
  await brush(size, 0, [
    [2, radius],
    [w - 2, radius],
  ]);
  await brush(size, 0, [
    [2, h - 1 - radius],
    [w - 2, h - 1 - radius],
  ]);
  await page.check('#ft-eraser');
  const box = (await page.locator('#ft-canvas').boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await page.uncheck('#ft-eraser');
  const marked = Number(await page.getAttribute('#ft-marked', 'data-marked'));
  log(`marked pixels: ${marked} (${await page.textContent('#ft-marked')})`);
  return marked;
}

const stepOf = () => Number(document.querySelector('#ft-state')?.getAttribute('data-step'));

/** Milliseconds the page's thread takes to answer a requestAnimationFrame and a click. */
async function roundTrips(): Promise<{ frame: number; click: number; whileRunning: boolean }> {
  const frame = await page.evaluate(
    () =>
      new Promise<number>((done) => {
        const start = performance.now();
        requestAnimationFrame(() => done(performance.now() - start));
      }),
  );
  const before = await page.isChecked('#ft-show-prediction');
  const start = Date.now();
  await page.click('#ft-show-prediction');
  const after = await page.isChecked('#ft-show-prediction');
  const click = Date.now() - start;
  expect(after).toBe(!before);
  await page.click('#ft-show-prediction');
  const whileRunning = (await page.getAttribute('#ft-state', 'data-state')) === 'running';
  return { frame, click, whileRunning };
}

interface RunFigures {
  losses: number[];
  stepMs: number[];
  pageAgreement: number;
  checkpointDir: string;
  marks: Uint8Array;
  responsiveness: { frame: number; click: number; whileRunning: boolean };
  where: string;
}

/**
 * Fine-tunes from the panel as a user would (with a pause and a resume, and the screenshots when
 * asked), then downloads the marks and the checkpoint.
 */
async function fineTune(label: string, steps: number, screenshots: boolean): Promise<RunFigures> {
  await page.fill('#ft-steps', String(steps));
  await page.fill('#ft-lr', '0.01');
  await page.selectOption('#ft-layers', 'head');
  await page.click('#ft-start');
  await page.waitForFunction(stepOf, null, { timeout: 170_000, polling: 50 });
  const responsiveness = await roundTrips();
  log(
    `${label}: while training (${responsiveness.whileRunning ? 'still running' : 'run over'}), a frame took ${responsiveness.frame.toFixed(0)} ms, a click ${responsiveness.click} ms`,
  );
  // Pause: the step count stops; resume: it goes on.
  await page.click('#ft-pause');
  await page.waitForSelector('#ft-state[data-state="paused"]', { timeout: 170_000 });
  const pausedAt = Number(await page.getAttribute('#ft-state', 'data-step'));
  await page.waitForTimeout(1500);
  expect(Number(await page.getAttribute('#ft-state', 'data-step'))).toBe(pausedAt);
  expect(pausedAt).toBeLessThan(steps);
  if (screenshots) await page.locator('#finetune').screenshot({ path: join(DOCS, 'finetune-training.png') });
  await page.click('#ft-pause');
  await page.waitForSelector('#ft-state[data-state="done"]', { timeout: 170_000 });
  await page.waitForSelector(`#ft-canvas[data-prediction-step="${steps}"]`);
  if (screenshots) await page.locator('#finetune').screenshot({ path: join(DOCS, 'finetune-done.png') });
  const losses = JSON.parse((await page.getAttribute('#ft-state', 'data-losses'))!) as number[];
  const stepMs = JSON.parse((await page.getAttribute('#ft-state', 'data-step-ms'))!) as number[];
  const where = `${await page.getAttribute('#ft-placement', 'data-where')} on ${await page.getAttribute('#ft-placement', 'data-backend')}`;
  log(`${label}: ${await page.textContent('#ft-placement')}; paused at step ${pausedAt}`);
  log(`${label}: losses ${losses.map((l) => l.toFixed(4)).join(', ')}; ms per step ${stepMs.join(', ')}`);
  const dir = join(work, label);
  await mkdir(dir, { recursive: true });
  const marksPath = await saveDownload('#ft-download-marks', dir);
  await saveDownload('#ft-download-json', dir);
  await saveDownload('#ft-download-weights', dir);
  const marks = decodeLabelPng(new Uint8Array(await readFile(marksPath)), marksPath).indices;
  return {
    losses,
    stepMs,
    pageAgreement: Number(await page.getAttribute('#ft-canvas', 'data-marked-agreement')),
    checkpointDir: dir,
    marks,
    responsiveness,
    where,
  };
}

async function checkRun(label: string, run: RunFigures, image: RgbImage, steps: number): Promise<void> {
  expect(run.losses).toHaveLength(steps);
  expect(run.losses.at(-1)!).toBeLessThan(run.losses[0]!);
  // The page's thread stayed free: the worker trains.
  expect(run.where).toBe(`worker on ${label}`);
  expect(run.responsiveness.frame).toBeLessThan(1000);
  expect(run.responsiveness.click).toBeLessThan(2000);
  const before = await scoreOnMarks(DEMO_CHECKPOINT(APP_DIR), image, run.marks);
  const after = await scoreOnMarks(run.checkpointDir, image, run.marks);
  log(
    `${label}: on the ${run.marks.filter((v) => v !== 255).length} marked pixels (Node, cpu): loss ${before.loss.toFixed(4)} -> ${after.loss.toFixed(4)}, labels as marked ${(before.agreement * 100).toFixed(1)}% -> ${(after.agreement * 100).toFixed(1)}% (page: ${(run.pageAgreement * 100).toFixed(1)}%)`,
  );
  expect(after.loss).toBeLessThan(before.loss);
  expect(after.agreement).toBeGreaterThan(before.agreement);
  // What the page showed is the downloaded model's prediction.
  expect(Math.abs(run.pageAgreement - after.agreement)).toBeLessThan(0.01);
}

beforeAll(async () => {
  requireChromium();
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const png = decode(await readFile(SAMPLE));
  sample = { width: png.width, height: png.height, data: png.data as Uint8Array };
  work = await mkdtemp(join(tmpdir(), 'semseg-web-finetune-'));
  // SwiftShader runs FCN-8s's forward pass in seconds: the WebGPU run takes a 64 x 64 crop.
  const data = new Uint8Array(CROP * CROP * 3);
  for (let y = 0; y < CROP; y++) {
    const from = ((y + 30) * sample.width + 30) * 3;
    data.set(sample.data.subarray(from, from + CROP * 3), y * CROP * 3);
  }
  crop = { width: CROP, height: CROP, data };
  await writeFile(join(work, 'crop.png'), encode({ width: CROP, height: CROP, data, channels: 3, depth: 8 }));
  await mkdir(DOCS, { recursive: true });
  await ensureBuilt(log);
  server = await startPreview(log);
  browser = await launchChromium(log);
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('fine-tuning in the page', () => {
  let wasmCheckpoint = '';

  it('fine-tunes the demo FCN-8s on brushed marks in a worker on wasm, with pause and resume', async () => {
    await page.goto(`${server!.url}?backend=wasm`);
    await page.waitForFunction(() => document.body.dataset.status === 'ready', null, { timeout: 150_000 });
    expect(await page.getAttribute('#backend-active', 'data-backend')).toBe('wasm');
    const marked = await brushMarks(sample);
    expect(marked).toBeGreaterThan(500);
    await page.locator('#finetune').screenshot({ path: join(DOCS, 'finetune-brushing.png') });
    const run = await fineTune('wasm', WASM_STEPS, true);
    // The marks downloaded are what was brushed: person in the band, background at the edges,
    // the erased centre unmarked.
    const { width: w, height: h } = sample;
    expect(run.marks[Math.round(h * 0.5) * w + 10]).toBe(15);
    expect(run.marks[Math.round(w / 25) * w + 10]).toBe(0);
    expect(run.marks[Math.floor(h * 0.5) * w + Math.floor(w * 0.5)]).toBe(255);
    await checkRun('wasm', run, sample, WASM_STEPS);
    wasmCheckpoint = run.checkpointDir;
    // The marks' PNG read back through the panel's file input gives the same marks; a PNG of
    // another size is a message naming it, and the marks stay.
    const count = Number(await page.getAttribute('#ft-marked', 'data-marked'));
    await page.click('#ft-clear');
    expect(await page.getAttribute('#ft-marked', 'data-marked')).toBe('0');
    await page.setInputFiles('#ft-label-input', join(run.checkpointDir, 'synthetic-1.marks.png'));
    await page.waitForFunction(
      (n) => document.querySelector('#ft-marked')?.getAttribute('data-marked') === String(n),
      count,
    );
    await page.setInputFiles('#ft-label-input', {
      name: 'small.png',
      mimeType: 'image/png',
      buffer: Buffer.from(encodeLabelPng(new Uint8Array(16), 4, 4)),
    });
    await page.waitForFunction(() => document.querySelector('#ft-error')?.textContent?.includes('small.png'));
    expect(await page.textContent('#ft-error')).toBe(
      `Reading small.png: small.png: the label PNG is 4x4 but the image is ${w}x${h}`,
    );
    expect(await page.getAttribute('#ft-marked', 'data-marked')).toBe(String(count));
  });

  it('fine-tunes on WebGPU (SwiftShader) in a worker', async () => {
    // The crop first (segmented on wasm), then WebGPU: switching segments the open image again,
    // and on SwiftShader the 64x64 crop takes half the time of the 123x127 sample.
    await page.setInputFiles('#image-input', join(work, 'crop.png'));
    await page.waitForFunction(() =>
      document.querySelector('#image-info')?.textContent?.includes('crop.png'),
    );
    await page.waitForFunction(() => document.body.dataset.status === 'ready', null, { timeout: 150_000 });
    await page.selectOption('#backend-select', 'webgpu');
    await page.waitForFunction(
      () => document.querySelector('#backend-active')?.getAttribute('data-backend') === 'webgpu',
    );
    await page.waitForFunction(() => document.body.dataset.status === 'ready', null, { timeout: 150_000 });
    expect(await brushMarks(crop)).toBeGreaterThan(100);
    const run = await fineTune('webgpu', WEBGPU_STEPS, false);
    await checkRun('webgpu', run, crop, WEBGPU_STEPS);
    // "Use in the page": the page segments the image with the fine-tuned model, as Node does.
    await page.click('#ft-use');
    await page.waitForFunction(() =>
      document.querySelector('#checkpoint-info')?.textContent?.includes('(model.json + weights.bin)'),
    );
    await page.waitForFunction(() => document.body.dataset.status === 'ready', null, { timeout: 150_000 });
    const labelsPath = await saveDownload('#download-labels', run.checkpointDir);
    const shown = decodeLabelPng(new Uint8Array(await readFile(labelsPath)), labelsPath).indices;
    const node = await scoreOnMarks(run.checkpointDir, crop, run.marks);
    const same = shown.filter((label, i) => label === node.labels[i]).length / shown.length;
    log(
      `webgpu: the page's labels with the fine-tuned model equal Node's on ${(same * 100).toFixed(3)}% of pixels`,
    );
    expect(same).toBeGreaterThanOrEqual(0.99);
    expect(browser?.errors ?? []).toEqual([]);
  }, 400_000);

  it('writes a checkpoint that `semseg eval` loads', async () => {
    expect(existsSync(CLI), `no CLI build at ${CLI}: npm run build -w apps/cli`).toBe(true);
    const data = join(work, 'voc');
    const synth = spawnSync(process.execPath, [CLI, 'data', 'synth', data, '--count', '4', '--seed', '3'], {
      encoding: 'utf8',
    });
    expect(synth.status, synth.stderr).toBe(0);
    const json = join(work, 'eval.json');
    const evaluation = spawnSync(
      process.execPath,
      [
        CLI,
        'eval',
        '--checkpoint',
        wasmCheckpoint,
        '--data',
        data,
        '--split',
        'trainval',
        '--backend',
        'cpu',
        '--json',
        json,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    log(`semseg eval: ${evaluation.stdout.trim().split('\n').slice(-4).join(' | ')}`);
    expect(evaluation.status, evaluation.stderr).toBe(0);
    const record = JSON.parse(await readFile(json, 'utf8')) as {
      images: number;
      metrics?: { mIoU?: number | null };
    };
    log(`semseg eval --json: ${JSON.stringify(record).slice(0, 300)}`);
    expect(record.images).toBe(4);
    expect(typeof record.metrics?.mIoU).toBe('number');
  });
});
