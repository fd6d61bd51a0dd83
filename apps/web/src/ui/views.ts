// Draws the state into the page. Each function owns one part of index.html and only reads state.
import type { Rgb } from '@semseg/core';
import { classShares, completePalette, formatShare } from '@semseg/voc-data';
import { BACKEND_LABELS, type PageBackend } from '../backend-choice.js';
import { formatBytes, formatMs } from '../format.js';
import { overlayPixels, splitLabels } from '../overlay.js';
import { type AppState, crfChanges, shownMap } from '../state.js';
import { byId, element } from './dom.js';

export function renderStatus(state: AppState): void {
  const status = byId('status');
  status.textContent = state.status.text;
  status.dataset.kind = state.status.kind;
  document.body.dataset.status = state.status.kind;
  const banner = byId('error');
  banner.hidden = state.error === null;
  byId('error-text').textContent = state.error ?? '';
}

export function renderBackend(state: AppState): void {
  byId<HTMLSelectElement>('backend-select').value = state.backendChoice;
  byId('backend-active').textContent = state.backend ? `Active: ${state.backend.active}` : 'No backend yet';
  byId('backend-active').dataset.backend = state.backend?.name ?? '';
  byId<HTMLSelectElement>('runtime-select').value = state.runtimeChoice;
  const runtime = byId('runtime-state');
  runtime.dataset.runtime = state.runtime?.label ?? '';
  const trials = (state.runtime?.trials ?? [])
    .map((t) => `${t.runtime} ${t.ms !== undefined ? `${t.ms.toFixed(0)} ms` : `failed: ${t.error}`}`)
    .join(', ');
  const threads = state.runtime?.threads;
  runtime.dataset.threads = threads === undefined ? '' : String(threads);
  const threading =
    threads === undefined
      ? ''
      : threads > 1
        ? `, ${threads} wasm threads`
        : ', 1 wasm thread (the page is not cross-origin isolated)';
  runtime.textContent = state.runtime
    ? `Network pass: ${state.runtime.label}${threading}${trials ? ` (measured: ${trials})` : ''}`
    : '';
  const list = byId('backend-fallbacks');
  list.replaceChildren(...(state.backend?.fallbacks ?? []).map((text) => element('li', { text })));
  const table = byId<HTMLTableElement>('runs');
  table.hidden = state.runs.length < 2;
  table.tBodies[0]!.replaceChildren(
    ...state.runs.map((run) =>
      element('tr', {}, [
        element('td', { text: BACKEND_LABELS[run.backend as PageBackend] ?? run.backend }),
        element('td', { className: 'num', text: formatMs(run.preprocess) }),
        element('td', { className: 'num', text: formatMs(run.network) }),
        element('td', { className: 'num', text: formatMs(run.total) }),
        element('td', { className: 'num', text: `${(run.agreementWithFirst * 100).toFixed(2)}%` }),
      ]),
    ),
  );
}

export function renderInputs(state: AppState): void {
  const image = state.image;
  byId('image-info').textContent = image
    ? `${image.name}: ${image.width}×${image.height}${image.originalSize ? ` (scaled down from ${image.originalSize.width}×${image.originalSize.height})` : ''}`
    : '';
  const checkpoint = state.checkpoint;
  byId('checkpoint-info').textContent = checkpoint
    ? `Checkpoint: ${checkpoint.architecture}, ${checkpoint.classes.length} classes, ${(checkpoint.weightBytes / 1e6).toFixed(2)} MB (${checkpoint.source})`
    : 'No checkpoint loaded';
  const facts = byId('model-facts');
  if (checkpoint) {
    const n = checkpoint.normalization;
    const imported = checkpoint.imported
      ? `Converted from ${checkpoint.imported.format} (${checkpoint.imported.map}): ${checkpoint.imported.tensors} tensors. `
      : '';
    facts.textContent = `${imported}${checkpoint.parameters.toLocaleString('en-US')} parameters; input ${n.channelOrder.toUpperCase()}, ${n.scale === 1 ? '0..1' : '0..255'}, mean ${n.mean.join('/')}, std ${n.std.join('/')}`;
    facts.dataset.parameters = String(checkpoint.parameters);
    facts.dataset.architecture = checkpoint.architecture;
  } else facts.textContent = '';
  byId<HTMLButtonElement>('download-checkpoint').disabled = !checkpoint;
  byId<HTMLButtonElement>('forget-model').disabled = !state.stored;
  byId('stored-info').textContent = state.stored
    ? `Kept in this browser for the next visit: ${state.stored.source}`
    : 'No model kept in this browser: the next visit opens with the demo model.';
  byId('stored-info').dataset.stored = String(Boolean(state.stored));
}

export function renderImport(state: AppState): void {
  const box = byId('import-progress');
  const importing = state.importing;
  box.hidden = !importing;
  if (importing) {
    const bar = byId<HTMLProgressElement>('import-bar');
    const reading = importing.stage === 'reading';
    if (reading && importing.size > 0) {
      bar.max = importing.size;
      bar.value = importing.bytesRead;
    } else bar.removeAttribute('value');
    byId('import-text').textContent =
      `${importing.file}: ${importing.stage}${reading ? ` ${formatBytes(importing.bytesRead)} of ${formatBytes(importing.size)}` : '…'}`;
  }
  const dialog = byId('architecture-choice');
  const choice = state.choice;
  dialog.hidden = !choice;
  if (choice) {
    byId('choice-text').textContent =
      `${choice.file} fits ${choice.fits.length} architectures of this page by its tensor names; which is it?`;
    const select = byId<HTMLSelectElement>('choice-select');
    if (select.dataset.file !== choice.file || select.options.length !== choice.fits.length) {
      select.replaceChildren(
        ...choice.fits.map((f) =>
          element('option', {
            text: `${f.name}: ${f.description}`,
            attributes: { value: f.name, title: f.map },
          }),
        ),
      );
      select.dataset.file = choice.file;
    }
  }
}

export function renderInference(state: AppState): void {
  byId('inference-errors').textContent = state.inference.errors.join('; ');
  byId('inference-used').textContent = state.network ? `Last run: ${state.network.inference}` : '';
}

export function renderCamera(state: AppState): void {
  byId<HTMLInputElement>('camera-toggle').checked = state.camera.on;
  const line = byId('camera-state');
  line.textContent = state.camera.on
    ? `${state.camera.frames} frames segmented, ${state.camera.fps.toFixed(1)} fps`
    : '';
  line.dataset.frames = String(state.camera.frames);
}

export function renderCrf(state: AppState): void {
  const crf = state.crf;
  byId<HTMLInputElement>('crf-toggle').checked = crf.enabled;
  const progress = byId<HTMLProgressElement>('crf-progress');
  progress.hidden = !crf.running;
  progress.max = Math.max(1, crf.iterations);
  progress.value = crf.iteration;
  const changes = crfChanges(state);
  let text = '';
  if (crf.running) text = `CRF iteration ${crf.iteration} of ${crf.iterations}…`;
  else if (crf.enabled && crf.result && changes) {
    text = `CRF done in ${formatMs(crf.result.milliseconds)}: ${changes.pixels} pixels (${formatShare(changes.share)}) changed`;
  }
  const line = byId('crf-state');
  line.textContent = text;
  line.dataset.done = String(Boolean(crf.enabled && crf.result && !crf.running));
  line.dataset.iterationsSeen = crf.seenIterations.join(',');
  byId('crf-form-errors').textContent = crf.formErrors.join('; ');
  byId('compare').hidden = !(crf.enabled && crf.result);
}

/** The checkpoint's colours per class (the drawing completes them with the VOC colour map). */
function palette(state: AppState): readonly Rgb[] {
  return state.checkpoint?.palette ?? [];
}

export function renderCanvas(state: AppState): void {
  const canvas = byId<HTMLCanvasElement>('overlay-canvas');
  const image = state.image;
  const shown = shownMap(state);
  if (!image) return;
  if (canvas.width !== image.width || canvas.height !== image.height) {
    canvas.width = image.width;
    canvas.height = image.height;
  }
  let labels: Uint8Array | null = shown && shown.map.width === image.width ? shown.map.labels : null;
  if (labels && state.network && shown?.refined && state.crf.result) {
    if (state.view.compare === 'before') labels = state.network.labels;
    else if (state.view.compare === 'split') {
      labels = splitLabels(state.network.labels, labels, image.width, state.view.split * image.width);
    }
  }
  const context = canvas.getContext('2d')!;
  const opacity = labels ? state.view.opacity : 0;
  const pixels = overlayPixels(
    image,
    labels ?? new Uint8Array(image.width * image.height),
    palette(state),
    opacity,
  );
  context.putImageData(new ImageData(pixels, image.width, image.height), 0, 0);
  if (labels && state.view.compare === 'split' && state.crf.result && state.crf.enabled) {
    context.fillStyle = '#ffffff';
    context.fillRect(Math.round(state.view.split * image.width), 0, 1, image.height);
  }
  canvas.dataset.labelsShown = labels ? (shown?.refined ? 'crf' : 'network') : 'none';
}

export function renderLegend(state: AppState, hoveredClass: number | null): void {
  const body = byId<HTMLTableElement>('legend').tBodies[0]!;
  const shown = shownMap(state);
  if (!shown || !state.checkpoint) {
    body.replaceChildren();
    return;
  }
  const rows = classShares(shown.map.labels, state.checkpoint.classes, completePalette(palette(state)));
  const present = rows.filter((row) => row.pixels > 0);
  const absent = rows.filter((row) => row.pixels === 0);
  const lines = present.map((row) => {
    const swatch = element('span', { className: 'swatch' });
    swatch.style.background = `rgb(${row.color.join(',')})`;
    return element(
      'tr',
      {
        className: row.index === hoveredClass ? 'hovered' : '',
        attributes: { 'data-class': String(row.index) },
      },
      [
        element('td', {}, [swatch]),
        element('td', { text: row.name }),
        element('td', { className: 'num', text: formatShare(row.share) }),
      ],
    );
  });
  if (absent.length > 0) {
    const names = absent.map((row) => row.name).join(', ');
    lines.push(
      element('tr', { className: 'absent', attributes: { title: names } }, [
        element('td'),
        element('td', { text: `${absent.length} other classes: ${names}` }),
        element('td', { className: 'num', text: '0%' }),
      ]),
    );
  }
  body.replaceChildren(...lines);
}

export function renderTimings(state: AppState): void {
  const body = byId<HTMLTableElement>('timings').tBodies[0]!;
  const crfWhere = (engine: 'wasm' | 'js' | undefined) =>
    engine === 'js'
      ? 'Web Worker (JavaScript)'
      : engine === 'wasm'
        ? 'Web Worker (WebAssembly SIMD)'
        : 'Web Worker';
  const net = state.network;
  if (!net) {
    body.replaceChildren();
    return;
  }
  const backend = BACKEND_LABELS[net.backend as PageBackend] ?? net.backend;
  const crf = state.crf.enabled && state.crf.result ? state.crf.result.milliseconds : undefined;
  const rows: Array<[string, string, string]> = [
    ['decode image', formatMs(net.timings.decode), 'browser'],
    ['preprocess', formatMs(net.timings.preprocess), backend],
    ['inference', net.inference, ''],
    ['network', formatMs(net.timings.network), backend],
    ['CRF', state.crf.enabled ? formatMs(crf) : 'off', crfWhere(state.crf.result?.engine)],
    ['total', formatMs(net.timings.total + (crf ?? 0)), ''],
  ];
  body.replaceChildren(
    ...rows.map(([stage, ms, where]) =>
      element('tr', { attributes: { 'data-stage': stage } }, [
        element('th', { text: stage }),
        element('td', { className: 'num', text: ms }),
        element('td', { text: where }),
      ]),
    ),
  );
  byId('timings').dataset.backend = net.backend;
  byId<HTMLButtonElement>('download-labels').disabled = false;
  byId<HTMLButtonElement>('download-overlay').disabled = false;
  byId<HTMLButtonElement>('download-probabilities').disabled = Boolean(
    state.crf.enabled && state.crf.running,
  );
}

export function renderAll(state: AppState, hoveredClass: number | null): void {
  renderStatus(state);
  renderBackend(state);
  renderInputs(state);
  renderCrf(state);
  renderCanvas(state);
  renderLegend(state, hoveredClass);
  renderTimings(state);
  renderImport(state);
  renderInference(state);
  renderCamera(state);
}
