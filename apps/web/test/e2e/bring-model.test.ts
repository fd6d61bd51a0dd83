// Bringing a model and running it, in a real browser: real PyTorch (Debian's python3-torch) writes
// a torchvision lraspp_mobilenet_v3_large state_dict with seeded random weights and non-trivial
// batch-norm statistics; dropped on the page (wasm backend) it must give the labels `semseg import`
// + `semseg predict` give on the same file and image (>= 99.9% of pixels), whole and with sliding
// windows at two scales with flip. The checkpoint saved from the page must be the CLI's, byte for
// byte (same weights hash). A text file, a state_dict of no registered architecture and a file
// over the device budget each show their message and keep the model. The model is kept across a
// reload and forgotten on request; the fake camera is segmented continuously. Screenshots of each
// state go to docs/ (shown in the README).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { useNodeBackend } from '@semseg/core/node';
import { predictImage } from '@semseg/engine';
import { loadModel } from '@semseg/engine/node';
import '@semseg/fcn';
import { runTorchScriptAsync } from '@semseg/tooling/python';
import { decodeLabelPng, overlayLayout } from '@semseg/voc-data';
import { decodeNpy } from '@semseg/weights';
import { decode, encode } from 'fast-png';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement } from '../../src/format.js';
import { type BrowserSession, launchChromium, requireChromium } from './chromium.js';
import { DEMO_CHECKPOINT } from './reference.js';
import { APP_DIR, type PreviewServer, ensureBuilt, startPreview } from './server.js';

const run = promisify(execFile);
const SAMPLE = 'synthetic-1.png';
const SAMPLE_PATH = join(APP_DIR, 'public', 'samples', SAMPLE);
const DOCS = join(APP_DIR, 'docs');
const CLI = resolve(APP_DIR, '..', 'cli', 'bin', 'semseg.js');
const ARCH = 'lraspp-mobilenetv3-large';
const SLIDE = { crop: 64, stride: 48, scales: '0.75,1', flip: true };
const log = (line: string) => console.log(`[e2e bring-model] ${line}`);

// Batch norm is calibrated on the sample and noise (train mode, cumulative averages), so that
// the random network's labels vary over the image (15 classes) instead of one class everywhere.
const TORCH_SCRIPT = `
import sys, os, torch
import numpy as np
from PIL import Image
from torchvision.models.segmentation import lraspp_mobilenet_v3_large
out = sys.argv[1]
torch.manual_seed(7)
model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21)
rgb = np.asarray(Image.open(${JSON.stringify(SAMPLE_PATH)}).convert('RGB'), dtype=np.float32) / 255
x = torch.tensor((rgb - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225], dtype=torch.float32).permute(2, 0, 1)[None]
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
            m.weight.uniform_(0.6, 1.4)
            m.bias.uniform_(-0.3, 0.3)
    model.train()
    model(torch.cat([x[:, :, :96, :96], torch.randn(4, 3, 96, 96)]))
    model.eval()
torch.save(model.state_dict(), os.path.join(out, 'lraspp.pth'))
small = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 2, 1))
torch.save(small.state_dict(), os.path.join(out, 'small-net.pth'))
print(sum(p.numel() for p in model.parameters()))
`;

let server: PreviewServer | undefined;
let page: Page;
let browser: BrowserSession | undefined;
let work: string;
let torchParameters: number;
const cliLabels: Record<'whole' | 'slide', Uint8Array> = { whole: new Uint8Array(), slide: new Uint8Array() };
let cliModelJson: { weightsSha256: string; architecture: unknown; normalization: unknown };

async function cli(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { cwd: work, maxBuffer: 1 << 24 });
  return stdout;
}

async function waitForStatus(kinds: string[], timeout = 150_000): Promise<string> {
  await page.waitForFunction((k) => k.includes(document.body.dataset.status ?? ''), kinds, { timeout });
  return (await page.locator('body').getAttribute('data-status')) ?? '';
}

async function downloadOf(selector: string): Promise<Download> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return download;
}

async function downloadedBytes(download: Download): Promise<Uint8Array> {
  return new Uint8Array(await readFile(await download.path()));
}

async function pageLabels(): Promise<Uint8Array> {
  const download = await downloadOf('#download-labels');
  return decodeLabelPng(await downloadedBytes(download), download.suggestedFilename()).indices;
}

async function architecture(): Promise<string | null> {
  return page.locator('#model-facts').getAttribute('data-architecture');
}

/** Imports a weights file through the page's file input and waits for the import to end. */
async function importFile(path: string): Promise<void> {
  await page.setInputFiles('#weights-input', path);
  await page.waitForFunction(
    () => !document.querySelector('#import-progress')?.hasAttribute('hidden'),
    null,
    {
      timeout: 30_000,
    },
  );
  await page.waitForFunction(
    () =>
      document.querySelector('#import-progress')?.hasAttribute('hidden') &&
      document.body.dataset.status !== 'busy',
    null,
    { timeout: 150_000 },
  );
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(DOCS, name), fullPage: true });
  log(`screenshot: docs/${name}`);
}

beforeAll(async () => {
  requireChromium();
  if (!existsSync(CLI)) throw new Error(`no CLI build at ${CLI}: npm run build -w apps/cli`);
  await mkdir(DOCS, { recursive: true });
  work = await mkdtemp(join(tmpdir(), 'semseg-web-bring-'));
  const torch = await runTorchScriptAsync(TORCH_SCRIPT, { read: ['lraspp.pth', 'small-net.pth'] });
  torchParameters = Number(torch.stdout.trim());
  await writeFile(join(work, 'lraspp.pth'), torch.files['lraspp.pth']!);
  await writeFile(join(work, 'small-net.pth'), torch.files['small-net.pth']!);
  await writeFile(join(work, 'notes.pth'), 'these are notes, not weights\n');
  // The CLI's answer: import the .pth, predict the sample (cpu backend), whole and sliding.
  log((await cli(['import', 'lraspp.pth', '--arch', ARCH, '--out', 'ckpt', '--backend', 'cpu'])).trim());
  cliModelJson = JSON.parse(await readFile(join(work, 'ckpt', 'model.json'), 'utf8'));
  await cli([
    'predict',
    SAMPLE_PATH,
    '--checkpoint',
    'ckpt',
    '--out',
    'whole',
    '--backend',
    'cpu',
    '--quiet',
  ]);
  await cli([
    'predict',
    SAMPLE_PATH,
    '--checkpoint',
    'ckpt',
    '--out',
    'slide',
    '--backend',
    'cpu',
    '--quiet',
    '--mode',
    'slide',
    '--crop',
    String(SLIDE.crop),
    '--stride',
    String(SLIDE.stride),
    '--scales',
    SLIDE.scales,
    '--flip',
  ]);
  for (const mode of ['whole', 'slide'] as const) {
    const file = join(work, mode, 'synthetic-1.png');
    cliLabels[mode] = decodeLabelPng(new Uint8Array(await readFile(file)), file).indices;
  }
  log(
    `CLI labels: ${new Set(cliLabels.whole).size} classes present (whole), ${new Set(cliLabels.slide).size} (slide)`,
  );
  await ensureBuilt(log);
  server = await startPreview(log);
  browser = await launchChromium(log, {
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    consoleErrors: false,
  });
  page = browser.page;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('bringing a PyTorch model to the page', () => {
  it('converts a torchvision .pth in the worker and segments as semseg predict does', async () => {
    await page.goto(`${server!.url}?backend=wasm`);
    expect(await waitForStatus(['ready', 'error'])).toBe('ready');
    expect(await architecture()).toBe('fcn8s');
    await importFile(join(work, 'lraspp.pth'));
    expect(await page.locator('#error-text').textContent()).toBe('');
    expect(await architecture()).toBe(ARCH);
    await waitForStatus(['ready']);
    const facts = (await page.locator('#model-facts').textContent()) ?? '';
    log(`model facts: ${facts}`);
    expect(Number(await page.locator('#model-facts').getAttribute('data-parameters'))).toBe(torchParameters);
    expect(facts).toContain('input RGB, 0..1, mean 0.485/0.456/0.406, std 0.229/0.224/0.225');
    const same = agreement(await pageLabels(), cliLabels.whole);
    log(`whole image: labels equal to semseg predict's on ${(same * 100).toFixed(3)}% of pixels`);
    expect(same).toBeGreaterThanOrEqual(0.999);
    await screenshot('bring-model.png');
  });

  it("saves the converted model as the CLI's checkpoint, byte for byte", async () => {
    const [json, weights] = await Promise.all([
      page.waitForEvent('download', (d) => d.suggestedFilename() === 'model.json'),
      page.waitForEvent('download', (d) => d.suggestedFilename() === 'weights.bin'),
      page.click('#download-checkpoint'),
    ]);
    const modelJson = JSON.parse(new TextDecoder().decode(await downloadedBytes(json)));
    expect(modelJson.architecture).toEqual(cliModelJson.architecture);
    expect(modelJson.normalization).toEqual(cliModelJson.normalization);
    expect(modelJson.weightsSha256).toBe(cliModelJson.weightsSha256);
    const cliWeights = new Uint8Array(await readFile(join(work, 'ckpt', 'weights.bin')));
    expect(Buffer.from(await downloadedBytes(weights)).equals(Buffer.from(cliWeights))).toBe(true);
  });

  it('runs sliding windows at two scales with flip, as semseg predict --mode slide', async () => {
    await page.selectOption('#inference-mode', 'slide');
    await page.fill('#inference-crop', String(SLIDE.crop));
    await page.fill('#inference-stride', String(SLIDE.stride));
    await page.fill('#inference-scales', SLIDE.scales);
    await page.check('#inference-flip');
    await page.click('#inference-apply');
    await page.waitForFunction(() =>
      document.querySelector('#inference-used')?.textContent?.includes('sliding'),
    );
    await waitForStatus(['ready']);
    expect(await page.locator('#inference-used').textContent()).toBe(
      'Last run: sliding window 64×64, stride 48, scales 0.75, 1 + flip',
    );
    const same = agreement(await pageLabels(), cliLabels.slide);
    log(`sliding window + scales + flip: labels equal to semseg predict's on ${(same * 100).toFixed(3)}%`);
    expect(same).toBeGreaterThanOrEqual(0.999);
    const timings = await page.locator('#timings tbody').textContent();
    log(`timings: ${timings}`);
    // The overlay with its legend and the probabilities, downloaded.
    const overlay = await downloadOf('#download-overlay');
    expect(overlay.suggestedFilename()).toBe('synthetic-1.overlay.png');
    const png = await downloadedBytes(overlay);
    const view = new DataView(png.buffer, png.byteOffset);
    const labels = await pageLabels();
    const layout = overlayLayout(123, 127, new Set(labels).size);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([layout.width, layout.height]);
    const npy = await downloadOf('#download-probabilities');
    expect(npy.suggestedFilename()).toBe('synthetic-1.npy');
    const probabilities = decodeNpy(await downloadedBytes(npy));
    expect(probabilities.shape).toEqual([127, 123, 21]);
    const data = probabilities.data as Float32Array;
    let argmaxEqual = 0;
    for (let p = 0; p < labels.length; p++) {
      let best = 0;
      for (let k = 1; k < 21; k++) if (data[p * 21 + k]! > data[p * 21 + best]!) best = k;
      if (best === labels[p]) argmaxEqual++;
    }
    expect(argmaxEqual).toBe(labels.length);
    await screenshot('inference-modes.png');
    await page.selectOption('#inference-mode', 'whole');
    await page.fill('#inference-scales', '1');
    await page.uncheck('#inference-flip');
    await page.click('#inference-apply');
    await waitForStatus(['ready']);
  });
});

describe('files the page refuses, keeping the last model', () => {
  const keepsModel = async () => {
    expect(await architecture()).toBe(ARCH);
    expect(await page.locator('body').getAttribute('data-status')).toBe('error');
  };

  it('a file that is no weights file', async () => {
    await importFile(join(work, 'notes.pth'));
    expect(await page.locator('#error-text').textContent()).toMatch(
      /^Importing notes\.pth: notes\.pth: is not a weights file this reader knows/,
    );
    await keepsModel();
  });

  it('a state_dict of no architecture of the page', async () => {
    await importFile(join(work, 'small-net.pth'));
    const message = (await page.locator('#error-text').textContent()) ?? '';
    log(`mismatch: ${message}`);
    expect(message).toMatch(
      /^Importing small-net\.pth: small-net\.pth: fits no architecture of this page \(\d+ checked\); closest: \S+ \(.*\), but it lacks \d+ tensors .* and 4 of its tensors have no place \('0\.weight', '0\.bias', '2\.weight' and 1 more\)$/,
    );
    await keepsModel();
    await screenshot('import-mismatch.png');
  });

  it('a model too large for the device', async () => {
    // A device that reports 20 MB of memory: the budget (a quarter) is 5.4 MB, under lraspp's 13 MB.
    await page.evaluate(() =>
      Object.defineProperty(Navigator.prototype, 'deviceMemory', { configurable: true, get: () => 0.02 }),
    );
    await importFile(join(work, 'lraspp.pth'));
    expect(await page.locator('#error-text').textContent()).toMatch(
      /^Importing lraspp\.pth: lraspp\.pth: is a lraspp-mobilenetv3-large, too large for this device: the model needs 1\d\.\d MB of weights, more than this device allows \(5\.4 MB, a quarter of 0\.02 GB device memory\)$/,
    );
    await keepsModel();
    await screenshot('device-limit.png');
  });
});

describe('the kept model and the camera', () => {
  it('opens with the kept model after a reload, and with the demo once forgotten', async () => {
    await page.reload();
    expect(await waitForStatus(['ready', 'error'])).toBe('ready');
    expect(await architecture()).toBe(ARCH);
    expect(await page.locator('#stored-info').getAttribute('data-stored')).toBe('true');
    await page.click('#forget-model');
    await page.waitForSelector('#stored-info[data-stored="false"]');
    await page.reload();
    expect(await waitForStatus(['ready', 'error'])).toBe('ready');
    expect(await architecture()).toBe('fcn8s');
  });

  it('segments the camera continuously and shows the rate', async () => {
    await page.check('#camera-toggle');
    await page.waitForFunction(
      () => Number(document.querySelector('#camera-state')?.getAttribute('data-frames')) >= 3,
      null,
      {
        timeout: 60_000,
      },
    );
    const line = (await page.locator('#camera-state').textContent()) ?? '';
    log(`camera: ${line}`);
    expect(line).toMatch(/^\d+ frames segmented, \d+\.\d fps$/);
    expect(Number.parseFloat(line.split(', ')[1]!)).toBeGreaterThan(0);
    expect(await page.locator('#image-info').textContent()).toMatch(/^camera\.png: \d+×\d+/);
    await screenshot('camera.png');
    await page.uncheck('#camera-toggle');
    await page.waitForFunction(() => document.querySelector('#camera-state')?.textContent === '');
    expect(browser?.errors ?? []).toEqual([]);
  });
});

describe('an image larger than whole-image inference takes', () => {
  it('runs at its own size, tiled, with the labels Node gives for the same windows', async () => {
    // A strip just over the 1024 px limit (the sample repeated across, 1107 x 127): 3 windows, so
    // that the cpu reference stays quick.
    const sample = decode(await readFile(SAMPLE_PATH));
    const repeats = 9;
    const width = sample.width * repeats;
    const height = sample.height;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let r = 0; r < repeats; r++) {
        const from = y * sample.width * 3;
        data.set(sample.data.subarray(from, from + sample.width * 3), (y * width + r * sample.width) * 3);
      }
    await page.goto(`${server!.url}?backend=wasm`);
    await waitForStatus(['ready', 'error']);
    if ((await architecture()) !== 'fcn8s') {
      await page.click('#demo-checkpoint');
      await page.waitForFunction(
        () => document.querySelector('#model-facts')?.getAttribute('data-architecture') === 'fcn8s',
      );
      await waitForStatus(['ready']);
    }
    // Tiles of 256, stride 192 (the form's crop and stride are what tiling uses).
    await page.fill('#inference-crop', '256');
    await page.fill('#inference-stride', '192');
    await page.click('#inference-apply');
    await waitForStatus(['ready']);
    const path = join(work, 'large.png');
    await writeFile(path, encode({ width, height, data, channels: 3, depth: 8 }));
    await page.setInputFiles('#image-input', path);
    await page.waitForFunction(() =>
      document.querySelector('#image-info')?.textContent?.startsWith('large.png'),
    );
    await waitForStatus(['ready'], 300_000);
    expect(await page.locator('#image-info').textContent()).toBe(`large.png: ${width}×${height}`);
    expect(await page.locator('#inference-used').textContent()).toBe(
      'Last run: sliding window 256×256, stride 192, scale 1 (tiled: over 1024 px for whole-image inference)',
    );
    await useNodeBackend('wasm');
    const { model, meta } = await loadModel(DEMO_CHECKPOINT(APP_DIR));
    let reference: Uint8Array;
    try {
      model.eval();
      reference = predictImage(
        model,
        { width, height, data },
        { normalization: meta.normalization, mode: 'slide', crop: [256, 256], stride: [192, 192] },
      ).labels;
    } finally {
      model.dispose();
    }
    const same = agreement(await pageLabels(), reference);
    log(
      `${width}x${height} tiled: labels equal to Node's predictImage (wasm, slide 256/192) on ${(same * 100).toFixed(3)}%`,
    );
    expect(same).toBeGreaterThanOrEqual(0.99);
  });
});
