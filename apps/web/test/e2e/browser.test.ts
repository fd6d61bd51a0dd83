// End to end in a real browser: Debian's Chromium (headless, WebGPU on SwiftShader) drives the
// built page served on 127.0.0.1. The page segments a sample image on WebGPU; its label PNG must
// equal what @semseg/engine gives in Node for the same checkpoint and image on >= 99% of pixels.
// The server sends COOP/COEP, so the page is cross-origin isolated and onnxruntime-web's wasm runs
// on several threads; a second server without those headers checks the one-thread fallback.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blendLabels, completePalette, decodeLabelPng } from '@semseg/voc-data';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement } from '../../src/format.js';
import { type BrowserSession, launchChromium, requireChromium } from './chromium.js';
import { convProbe } from './conv-probe.js';
import { DEMO_CHECKPOINT, type Reference, nodeReference } from './reference.js';
import { APP_DIR, type PreviewServer, ensureBuilt, startPreview } from './server.js';

const SAMPLE = 'synthetic-1.png';
const OUTPUT = join(APP_DIR, 'test-output');
const log = (line: string) => console.log(`[e2e] ${line}`);

let server: PreviewServer | undefined;
let unisolated: PreviewServer | undefined;
let page: Page;
let browser: BrowserSession | undefined;
let reference: Reference;
const requests: string[] = [];
/** The URLs of the Web Workers the page started (onnxruntime's pthreads load its own chunk). */
const workers: string[] = [];
/** onnxruntime-web's chunk, which its wasm threads load as their worker script. */
const ORT_CHUNK = /\/assets\/ort\.webgpu\.bundle[^/]*\.js$/;

async function waitForStatus(kinds: string[], timeout = 150_000): Promise<string> {
  await page.waitForFunction((k) => k.includes(document.body.dataset.status ?? ''), kinds, { timeout });
  return (await page.locator('body').getAttribute('data-status')) ?? '';
}

async function downloadLabels(): Promise<{ name: string; labels: Uint8Array }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-labels')]);
  const path = await download.path();
  const png = decodeLabelPng(new Uint8Array(await readFile(path)), download.suggestedFilename());
  expect([png.width, png.height]).toEqual([reference.width, reference.height]);
  return { name: download.suggestedFilename(), labels: png.indices };
}

beforeAll(async () => {
  requireChromium();
  await mkdir(OUTPUT, { recursive: true });
  reference = await nodeReference(
    DEMO_CHECKPOINT(APP_DIR),
    join(APP_DIR, 'public', 'samples', SAMPLE),
    'deconvNet',
  );
  await ensureBuilt(log);
  server = await startPreview(log);
  browser = await launchChromium(log);
  page = browser.page;
  page.on('request', (request) => requests.push(request.url()));
  page.on('worker', (worker) => workers.push(worker.url()));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await unisolated?.stop();
});

describe('the page in Chromium', () => {
  it('opens with the demo checkpoint and a sample segmented on WebGPU, as Node segments it', async () => {
    const response = await page.goto(`${server!.url}?backend=webgpu`);
    // Cross-origin isolated: the headers came with the page, and the browser took them.
    expect(response?.headers()['cross-origin-opener-policy']).toBe('same-origin');
    expect(response?.headers()['cross-origin-embedder-policy']).toBe('require-corp');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const status = await waitForStatus(['ready', 'error']);
    const active = await page.locator('#backend-active').textContent();
    const backend = await page.locator('#backend-active').getAttribute('data-backend');
    const problem = await page.locator('#error-text').textContent();
    log(`browser backend: ${backend} (${active})${problem ? `; message: ${problem}` : ''}`);
    if (backend !== 'webgpu') log(`WebGPU was not available in this browser; the page ran on ${backend}`);
    // CI installs chromium, whose SwiftShader gives WebGPU: there a fallback is a failure.
    if (process.env.CI) expect(backend, `the page fell back to ${backend}: ${problem}`).toBe('webgpu');
    expect(status).toBe('ready');
    expect(await page.locator('#image-info').textContent()).toContain(SAMPLE);
    expect(await page.locator('#timings').getAttribute('data-backend')).toBe(backend);
    const { name, labels } = await downloadLabels();
    expect(name).toBe('synthetic-1.labels.png');
    const same = agreement(labels, reference.labels);
    log(`labels equal to Node's (engine predictImage, cpu backend) on ${(same * 100).toFixed(3)}% of pixels`);
    expect(same).toBeGreaterThanOrEqual(0.99);
    // The legend lists the classes present with their shares; the shares add up to 100%.
    const shares = await page.locator('#legend tbody tr:not(.absent) td.num').allTextContents();
    expect(shares.length).toBeGreaterThan(0);
    const total = shares.reduce((sum, s) => sum + Number.parseFloat(s), 0);
    expect(total).toBeGreaterThan(99.5);
    expect(total).toBeLessThan(100.5);
    // The opacity slider: 0 shows the image's own pixels, 1 the class colours.
    const pixelAt = (x: number, y: number) =>
      page.evaluate(
        ([px, py]) => [
          ...(document.querySelector('#overlay-canvas') as HTMLCanvasElement)
            .getContext('2d')!
            .getImageData(px!, py!, 1, 1).data,
        ],
        [x, y],
      );
    const [x, y] = [Math.floor(reference.width / 2), Math.floor(reference.height / 3)];
    const p = y * reference.width + x;
    await page.locator('#opacity').fill('0');
    expect(await pixelAt(x, y)).toEqual([...reference.rgb.subarray(p * 3, p * 3 + 3), 255]);
    await page.locator('#opacity').fill('1');
    expect(await pixelAt(x, y)).toEqual([...reference.palette[reference.labels[p]!]!, 255]);
    await page.locator('#opacity').fill('0.6');
    // The whole canvas is the shared overlay's bytes (@semseg/voc-data's blendLabels over the
    // completed palette), the image part of what `semseg predict --overlay` writes.
    const canvas = await page.evaluate(() => {
      const element = document.querySelector('#overlay-canvas') as HTMLCanvasElement;
      return [...element.getContext('2d')!.getImageData(0, 0, element.width, element.height).data];
    });
    const shared = blendLabels(
      { width: reference.width, height: reference.height, data: reference.rgb },
      labels,
      completePalette(reference.palette),
      0.6,
    );
    expect(Buffer.from(Uint8Array.from(canvas)).equals(Buffer.from(shared))).toBe(true);
    // Hovering reads a pixel's class and probability.
    // The controls above may have scrolled the canvas out of view (the CRF toggle is far down).
    await page.locator('#overlay-canvas').scrollIntoViewIfNeeded();
    const box = (await page.locator('#overlay-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    expect(await page.locator('#hover-readout').textContent()).toMatch(/^\(\d+, \d+\) \S.*, p = \d+\.\d%$/);
  });

  it('refines with the dense CRF in a worker, iteration by iteration, as the engine does', async () => {
    await page.click('#crf-toggle');
    await page.waitForSelector('#crf-state[data-done="true"]', { timeout: 120_000 });
    expect(await page.locator('#crf-state').getAttribute('data-iterations-seen')).toBe(
      '1,2,3,4,5,6,7,8,9,10',
    );
    expect(await page.locator('#crf-state').textContent()).toMatch(
      /^CRF done in .*: \d+ pixels \(.*\) changed$/,
    );
    expect(await page.locator('#timings tr[data-stage="CRF"] td.num').textContent()).toMatch(/\d/);
    // The worker compiles the CRF's WebAssembly SIMD kernels (synchronous compiles are allowed there).
    expect(await page.locator('#timings tr[data-stage="CRF"] td:last-child').textContent()).toBe(
      'Web Worker (WebAssembly SIMD)',
    );
    const { name, labels } = await downloadLabels();
    expect(name).toBe('synthetic-1.crf.labels.png');
    const same = agreement(labels, reference.crfLabels);
    log(`CRF labels equal to Node's refineWithCrf (deconvNet) on ${(same * 100).toFixed(3)}% of pixels`);
    expect(same).toBeGreaterThanOrEqual(0.99);
    // Before/after compare: the split view shows the network's labels left of the divider.
    await page.check('input[name="compare"][value="split"]');
    expect(await page.locator('#overlay-canvas').getAttribute('data-labels-shown')).toBe('crf');
    // The controls above may have scrolled the canvas out of view (the CRF toggle is far down).
    await page.locator('#overlay-canvas').scrollIntoViewIfNeeded();
    const box = (await page.locator('#overlay-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.4);
    expect(await page.locator('#hover-readout').textContent()).toMatch(/\(CRF\)$/);
    await page.screenshot({ path: join(OUTPUT, 'page-crf.png'), fullPage: true });
    log(`screenshot: ${join(OUTPUT, 'page-crf.png')}`);
    await page.check('input[name="compare"][value="after"]');
  });

  it('switches to wasm and compares the two backends on the same image', async () => {
    await page.selectOption('#backend-select', 'wasm');
    await page.waitForFunction(
      () => document.querySelector('#backend-active')?.getAttribute('data-backend') === 'wasm',
    );
    await page.waitForSelector('#crf-state[data-done="true"]', { timeout: 120_000 });
    await waitForStatus(['ready']);
    const rows = await page.locator('#runs tbody tr').allTextContents();
    log(`backend comparison: ${rows.join(' | ')}`);
    expect(rows).toHaveLength(2);
    const agreementCell = await page.locator('#runs tbody tr:nth-child(2) td:last-child').textContent();
    expect(Number.parseFloat(agreementCell!)).toBeGreaterThanOrEqual(99);
    // The wasm binary came from the app itself, and nothing was fetched from anywhere else; the page
    // is cross-origin isolated, so tfjs took its threaded binary.
    const binaries = requests.filter(
      (url) => url.startsWith(`${server!.url}tfjs-wasm/`) && url.endsWith('.wasm'),
    );
    log(`tfjs wasm binary: ${binaries.join(', ')}`);
    expect(binaries.map((url) => url.slice(url.lastIndexOf('/') + 1))).toEqual([
      'tfjs-backend-wasm-threaded-simd.wasm',
    ]);
    expect(requests.filter((url) => !url.startsWith(server!.url) && !/^(data|blob):/.test(url))).toEqual([]);
  });

  it('runs the network pass on onnxruntime-web (wasm) with tfjs labels, and picks the fastest correct runtime by measuring', async () => {
    if (await page.isChecked('#crf-toggle')) await page.click('#crf-toggle');
    await waitForStatus(['ready']);
    const tfjs = await downloadLabels();
    await page.selectOption('#runtime-select', 'onnx-wasm');
    await page.waitForFunction(
      () =>
        document.querySelector('#runtime-state')?.getAttribute('data-runtime') === 'onnxruntime-web (wasm)',
      undefined,
      { timeout: 150_000 },
    );
    await waitForStatus(['ready']);
    const onnx = await downloadLabels();
    const same = agreement(onnx.labels, tfjs.labels);
    // Threads: the page asks for all cores (at most 8) where it is isolated; onnxruntime keeps the
    // count (it sets 1 where SharedArrayBuffer is missing) and starts count - 1 pthread workers,
    // each a module worker on its own chunk from assets/.
    const cores = await page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
    const threads = Number(await page.locator('#runtime-state').getAttribute('data-threads'));
    const pthreads = workers.filter((url) => ORT_CHUNK.test(url));
    log(
      `onnxruntime-web (wasm) on ${threads} threads (${cores} cores offered; ${pthreads.length} pthread workers on ${pthreads[0] ?? 'none'}); labels equal tfjs-wasm's on ${(same * 100).toFixed(3)}% of pixels`,
    );
    expect(cores).toBeGreaterThan(1);
    expect(threads).toBe(cores);
    expect(await page.locator('#runtime-state').textContent()).toContain(`, ${threads} wasm threads`);
    expect(pthreads).toHaveLength(threads - 1);
    expect(pthreads.every((url) => url.startsWith(server!.url))).toBe(true);
    expect(same).toBeGreaterThanOrEqual(0.999);
    // WebGPU by name, in NCHW (onnx-runtime.ts: onnxruntime 1.30's NHWC Conv miscomputes 21-channel
    // inputs; in its default layout these labels were 90.6% of tfjs's).
    await page.selectOption('#runtime-select', 'onnx-webgpu');
    await page.waitForFunction(
      () =>
        document.querySelector('#runtime-state')?.getAttribute('data-runtime') === 'onnxruntime-web (webgpu)',
      undefined,
      { timeout: 150_000 },
    );
    await waitForStatus(['ready', 'error']);
    expect(await page.locator('#error-text').textContent()).toBe('');
    const webgpu = await downloadLabels();
    const sameGpu = agreement(webgpu.labels, tfjs.labels);
    log(
      `onnxruntime-web (webgpu, NCHW) labels equal tfjs-wasm's on ${(sameGpu * 100).toFixed(3)}% of pixels`,
    );
    expect(sameGpu).toBeGreaterThanOrEqual(0.999);
    await page.selectOption('#runtime-select', 'fastest');
    await page.waitForFunction(
      () => document.querySelector('#runtime-state')?.textContent?.includes('measured:'),
      undefined,
      {
        timeout: 150_000,
      },
    );
    await waitForStatus(['ready']);
    const measured = (await page.locator('#runtime-state').textContent()) ?? '';
    log(measured);
    expect(measured).toMatch(/tfjs \d+ ms/);
    expect(measured).toMatch(/onnx-wasm \d+ ms/);
    // onnxruntime-web's WebGPU provider is measured too, and now agrees (it would be refused, with
    // its share, if it did not).
    expect(measured).toMatch(/onnx-webgpu \d+ ms/);
    const fastest = await downloadLabels();
    expect(agreement(fastest.labels, tfjs.labels)).toBeGreaterThanOrEqual(0.999);
    // onnxruntime's binary is the app's own asset: nothing came from elsewhere.
    expect(
      requests.some((url) => url.startsWith(`${server!.url}assets/`) && /ort-wasm.*\.wasm$/.test(url)),
    ).toBe(true);
    expect(requests.filter((url) => !url.startsWith(server!.url) && !/^(data|blob):/.test(url))).toEqual([]);
    await page.selectOption('#runtime-select', 'tfjs');
    await waitForStatus(['ready']);
  });

  it("needs NCHW on WebGPU: onnxruntime-web 1.30's NHWC Conv miscomputes 21 input channels", async () => {
    // One 2x2 Conv from 21 channels (FCN's upscore over the VOC classes) to 84, on the page's own
    // onnxruntime module: wasm is the reference, WebGPU in its default NHWC layout and in NCHW.
    const probe = convProbe(21, 84, 2, 6);
    const graphUrl = `${server!.url}conv-probe.onnx`;
    await page.route(graphUrl, (route) =>
      route.fulfill({ body: Buffer.from(probe.graph), contentType: 'application/octet-stream' }),
    );
    // The page's own onnxruntime module, by its chunk's URL (a module script: vitest rewrites an
    // import() inside page.evaluate).
    const ortChunk = requests.find((url) => ORT_CHUNK.test(url))!;
    await page.addScriptTag({
      type: 'module',
      content: `import * as ort from '${ortChunk}'; window.probeOrt = ort;`,
    });
    await page.waitForFunction(() => 'probeOrt' in window);
    const result = await page.evaluate(
      async ({ graphUrl, dims, input }) => {
        const ort = (window as unknown as { probeOrt: typeof import('onnxruntime-web') }).probeOrt;
        const graph = new Uint8Array(await (await fetch(graphUrl)).arrayBuffer());
        const providers = {
          wasm: 'wasm',
          nhwc: { name: 'webgpu' },
          nchw: { name: 'webgpu', preferredLayout: 'NCHW' },
        };
        const outputs: Record<string, Float32Array> = {};
        for (const [key, provider] of Object.entries(providers)) {
          const session = await ort.InferenceSession.create(graph, { executionProviders: [provider] });
          const feeds = {
            [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(input), dims),
          };
          outputs[key] = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
          await session.release();
        }
        const reference = outputs.wasm!;
        const maxDiff = (other: Float32Array) =>
          Math.max(...reference.map((v, i) => Math.abs(v - other[i]!)));
        return {
          scale: Math.max(...reference.map(Math.abs)),
          nhwc: maxDiff(outputs.nhwc!),
          nchw: maxDiff(outputs.nchw!),
        };
      },
      { graphUrl, dims: probe.dims, input: [...probe.input] },
    );
    log(
      `Conv 21 -> 84 channels, 2x2, on WebGPU against wasm (max |y| ${result.scale.toFixed(1)}): NHWC max |dy| ${result.nhwc.toFixed(3)}, NCHW ${result.nchw.toExponential(1)}`,
    );
    expect(result.nchw).toBeLessThan(1e-4 * result.scale);
    // The upstream bug (conv2d_mm.cc reads channel xCh / 4). When this fails, onnxruntime-web got it
    // right in NHWC: onnx-runtime.ts's WEBGPU_PROVIDER may go back to the default layout.
    expect(result.nhwc, 'onnxruntime-web WebGPU Conv is now right in NHWC').toBeGreaterThan(
      0.1 * result.scale,
    );
  });

  it('runs onnxruntime-web on one thread where the host sends no COOP/COEP, and says why', async () => {
    unisolated = await startPreview(log, { isolated: false });
    const plain = await browser!.context.newPage();
    try {
      const response = await plain.goto(`${unisolated.url}?backend=wasm`);
      expect(response?.headers()['cross-origin-embedder-policy']).toBeUndefined();
      expect(await plain.evaluate(() => crossOriginIsolated)).toBe(false);
      await plain.waitForFunction(() => document.body.dataset.status === 'ready', undefined, {
        timeout: 150_000,
      });
      const tfjs = await plain.evaluate(() =>
        document.querySelector('#backend-active')?.getAttribute('data-backend'),
      );
      expect(tfjs).toBe('wasm');
      await plain.selectOption('#runtime-select', 'onnx-wasm');
      await plain.waitForFunction(
        () => document.querySelector('#runtime-state')?.getAttribute('data-threads') !== '',
        undefined,
        { timeout: 150_000 },
      );
      const state = (await plain.locator('#runtime-state').textContent()) ?? '';
      log(`without isolation: ${state}`);
      expect(await plain.locator('#runtime-state').getAttribute('data-threads')).toBe('1');
      expect(state).toContain('1 wasm thread (the page is not cross-origin isolated)');
      expect(await plain.locator('body').getAttribute('data-status')).toBe('ready');
    } finally {
      await plain.close();
    }
  });

  it('says in the page when a file is not an image, and keeps the last result', async () => {
    await page.setInputFiles('#image-input', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('these are notes, not pixels\n'),
    });
    await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
    expect(await page.locator('#error-text').textContent()).toBe(
      'Opening notes.txt: notes.txt is not an image (it looks like text); choose a PNG, JPEG, WebP, GIF or BMP file',
    );
    expect(await page.locator('body').getAttribute('data-status')).toBe('error');
    expect(await page.locator('#image-info').textContent()).toContain(SAMPLE);
  });

  it('says in the page when a checkpoint is of another format', async () => {
    const layersModel = JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] });
    await page.setInputFiles('#checkpoint-input', [
      { name: 'model.json', mimeType: 'application/json', buffer: Buffer.from(layersModel) },
      { name: 'weights.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(16) },
    ]);
    await page.waitForFunction(() =>
      document.querySelector('#error-text')?.textContent?.includes('layers-model'),
    );
    expect(await page.locator('#error-text').textContent()).toBe(
      'Loading checkpoint model.json + weights.bin: model.json: format "layers-model" is not a semseg checkpoint (expected "semseg-checkpoint")',
    );
    await page.screenshot({ path: join(OUTPUT, 'page-error.png'), fullPage: true });
    // Failures were shown in the page; nothing escaped as an uncaught error.
    expect(
      (browser?.errors ?? []).filter((e) => !e.startsWith('Opening') && !e.startsWith('Loading checkpoint')),
    ).toEqual([]);
    await writeFile(join(OUTPUT, 'browser-errors.json'), JSON.stringify(browser?.errors ?? [], null, 2));
  });
});
