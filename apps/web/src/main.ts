// Entry point: wires the page's controls to the App and draws every state change.
import './models.js';
import type { PresetName } from '@semseg/crf';
import { App } from './app.js';
import {
  BACKEND_LABELS,
  type BackendChoice,
  initialBackendChoice,
  isBackendChoice,
} from './backend-choice.js';
import { startCamera } from './camera.js';
import { CRF_PRESET_NAMES, type CrfForm } from './crf-settings.js';
import { isCheckpointPart, isWeightsFile } from './file-types.js';
import { mountFinetune } from './finetune/panel.js';
import { pointerToPixel, readPixel } from './hover.js';
import { listModels } from './models.js';
import { RUNTIME_LABELS, isRuntimeChoice } from './page-runtime.js';
import { SAMPLE_IMAGES } from './samples.js';
import { shownMap } from './state.js';
import { byId, download, element } from './ui/dom.js';
import { overlayPng } from './ui/overlay-png.js';
import { renderAll } from './ui/views.js';
import { userMessage } from './user-message.js';

function showFatal(error: unknown): void {
  const banner = document.getElementById('error');
  const text = document.getElementById('error-text');
  if (banner && text) {
    text.textContent = `Something failed: ${userMessage(error)}`;
    banner.hidden = false;
  }
  document.body.dataset.status = 'error';
}

// Nothing thrown anywhere leaves a blank or silent page.
window.addEventListener('error', (event) => showFatal(event.error ?? event.message));
window.addEventListener('unhandledrejection', (event) => showFatal(event.reason));

const FORM_FIELDS: Array<[keyof CrfForm, string, number]> = [
  ['iterations', 'iterations', 1],
  ['gaussianSxy', 'smoothness sxy', 0.5],
  ['gaussianCompat', 'smoothness weight', 0.5],
  ['bilateralSxy', 'appearance sxy', 1],
  ['bilateralSrgb', 'appearance srgb', 0.5],
  ['bilateralCompat', 'appearance weight', 0.5],
];

function setUp(): void {
  const choice = initialBackendChoice(location.search);
  const app = new App(
    choice,
    () => new Worker(new URL('./crf.worker.ts', import.meta.url), { type: 'module' }),
    () => new Worker(new URL('./weights.worker.ts', import.meta.url), { type: 'module' }),
  );
  let hoveredClass: number | null = null;
  const draw = () => renderAll(app.store.state, hoveredClass);
  app.store.subscribe(draw);

  byId('model-list').textContent = listModels()
    .map((m) => m.name)
    .join(', ');
  byId('model-list').title = listModels()
    .map((m) => `${m.name}: ${m.description}`)
    .join('\n');
  byId('error-dismiss').addEventListener('click', () => app.dismissError());

  // Backend picker.
  const backendSelect = byId<HTMLSelectElement>('backend-select');
  for (const [value, label] of Object.entries(BACKEND_LABELS))
    backendSelect.append(element('option', { text: label, attributes: { value } }));
  backendSelect.value = choice;
  backendSelect.addEventListener('change', () => {
    if (isBackendChoice(backendSelect.value)) void app.chooseBackend(backendSelect.value as BackendChoice);
  });

  // The network pass: tfjs, or onnxruntime-web on the graph exported from the checkpoint.
  const runtimeSelect = byId<HTMLSelectElement>('runtime-select');
  for (const [value, label] of Object.entries(RUNTIME_LABELS))
    runtimeSelect.append(element('option', { text: label, attributes: { value } }));
  runtimeSelect.addEventListener('change', () => {
    if (isRuntimeChoice(runtimeSelect.value)) void app.chooseRuntime(runtimeSelect.value);
  });

  // Images: samples, the file input, and drops anywhere on the page.
  const samples = byId('samples');
  const sampleButtons = SAMPLE_IMAGES.map((sample, i) => {
    const button = element(
      'button',
      { attributes: { type: 'button', title: sample.name, 'aria-pressed': String(i === 0) } },
      [element('img', { attributes: { src: sample.url, alt: sample.name } })],
    );
    button.addEventListener('click', async () => {
      sampleButtons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
      const response = await fetch(sample.url);
      await app.openImage(await response.blob(), sample.name);
    });
    return button;
  });
  samples.append(...sampleButtons);
  const imageInput = byId<HTMLInputElement>('image-input');
  imageInput.addEventListener('change', () => {
    const file = imageInput.files?.[0];
    if (file) {
      sampleButtons.forEach((b) => b.setAttribute('aria-pressed', 'false'));
      void app.openImage(file, file.name);
    }
    imageInput.value = '';
  });
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length === 0) return;
    const weights = files.find((f) => isWeightsFile(f.name));
    if (weights) void app.openWeightsFile(weights, weights.name);
    else if (files.some((f) => isCheckpointPart(f.name))) void app.openCheckpointFiles(files);
    else void app.openImage(files[0]!, files[0]!.name);
  });

  // Checkpoints.
  const checkpointInput = byId<HTMLInputElement>('checkpoint-input');
  checkpointInput.addEventListener('change', () => {
    const files = [...(checkpointInput.files ?? [])];
    if (files.length > 0) void app.openCheckpointFiles(files);
    checkpointInput.value = '';
  });
  byId<HTMLFormElement>('checkpoint-url-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const url = byId<HTMLInputElement>('checkpoint-url').value;
    if (url.trim()) void app.openCheckpointUrl(url);
  });
  byId('demo-checkpoint').addEventListener('click', () => void app.loadDemoCheckpoint());
  const weightsInput = byId<HTMLInputElement>('weights-input');
  weightsInput.addEventListener('change', () => {
    const file = weightsInput.files?.[0];
    if (file) void app.openWeightsFile(file, file.name);
    weightsInput.value = '';
  });
  byId('choice-ok').addEventListener('click', () =>
    app.resolveChoice(byId<HTMLSelectElement>('choice-select').value),
  );
  byId('choice-cancel').addEventListener('click', () => app.resolveChoice(null));
  byId('download-checkpoint').addEventListener('click', () => {
    for (const file of app.checkpointDownload() ?? []) download(file.bytes, file.name, file.type);
  });
  byId('forget-model').addEventListener('click', () => void app.forgetStoredModel());

  // Inference settings.
  const inferenceFields = {
    mode: byId<HTMLSelectElement>('inference-mode'),
    crop: byId<HTMLInputElement>('inference-crop'),
    stride: byId<HTMLInputElement>('inference-stride'),
    scales: byId<HTMLInputElement>('inference-scales'),
    flip: byId<HTMLInputElement>('inference-flip'),
  };
  const inferenceForm = app.store.state.inference.form;
  inferenceFields.mode.value = inferenceForm.mode;
  inferenceFields.crop.value = String(inferenceForm.crop);
  inferenceFields.stride.value = String(inferenceForm.stride);
  inferenceFields.scales.value = inferenceForm.scales;
  inferenceFields.flip.checked = inferenceForm.flip;
  byId('inference-apply').addEventListener('click', () => {
    app.setInferenceForm({
      mode: inferenceFields.mode.value === 'slide' ? 'slide' : 'whole',
      crop: Number(inferenceFields.crop.value),
      stride: Number(inferenceFields.stride.value),
      scales: inferenceFields.scales.value,
      flip: inferenceFields.flip.checked,
    });
    void app.applyInference();
  });

  // Camera.
  const cameraToggle = byId<HTMLInputElement>('camera-toggle');
  let stopCamera: (() => void) | null = null;
  cameraToggle.addEventListener('change', async () => {
    if (!cameraToggle.checked) {
      stopCamera?.();
      stopCamera = null;
      return;
    }
    stopCamera = await startCamera(app, byId<HTMLVideoElement>('camera-video'));
    if (!stopCamera) cameraToggle.checked = false;
  });

  // View: opacity, compare, hover, download.
  const opacity = byId<HTMLInputElement>('opacity');
  opacity.addEventListener('input', () => app.setView({ opacity: Number(opacity.value) }));
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="compare"]')) {
    radio.addEventListener('change', () =>
      app.setView({ compare: radio.value as 'after' | 'before' | 'split' }),
    );
  }
  const split = byId<HTMLInputElement>('split');
  split.addEventListener('input', () => app.setView({ split: Number(split.value), compare: 'split' }));
  const canvas = byId<HTMLCanvasElement>('overlay-canvas');
  const readout = byId('hover-readout');
  canvas.addEventListener('pointermove', (event) => {
    const state = app.store.state;
    const shown = shownMap(state);
    if (!shown || !state.checkpoint) return;
    const pixel = pointerToPixel(
      canvas.getBoundingClientRect(),
      event.clientX,
      event.clientY,
      shown.map.width,
      shown.map.height,
    );
    if (!pixel) return;
    const reading = readPixel(shown.map, state.checkpoint.classes, pixel.x, pixel.y);
    const probability = Number.isFinite(reading.probability)
      ? `${(reading.probability * 100).toFixed(1)}%`
      : 'n/a while the CRF runs';
    readout.textContent = `(${reading.x}, ${reading.y}) ${reading.className}, p = ${probability}${shown.refined ? ' (CRF)' : ''}`;
    if (hoveredClass !== reading.classIndex) {
      hoveredClass = reading.classIndex;
      draw();
    }
  });
  canvas.addEventListener('pointerleave', () => {
    hoveredClass = null;
    readout.textContent = "Hover the image to read a pixel's class.";
    draw();
  });
  byId('download-labels').addEventListener('click', () => {
    const png = app.labelPng();
    if (png) download(png.bytes, png.name, 'image/png');
  });
  byId('download-overlay').addEventListener('click', async () => {
    const overlay = app.overlay();
    if (overlay) download(await overlayPng(overlay.picture), overlay.name, 'image/png');
  });
  byId('download-probabilities').addEventListener('click', () => {
    const npy = app.probabilitiesNpy();
    if (npy) download(npy.bytes, npy.name, 'application/octet-stream');
  });

  // CRF panel.
  const toggle = byId<HTMLInputElement>('crf-toggle');
  toggle.addEventListener('change', () => void app.setCrfEnabled(toggle.checked));
  const presetSelect = byId<HTMLSelectElement>('crf-preset');
  for (const name of CRF_PRESET_NAMES)
    presetSelect.append(element('option', { text: name, attributes: { value: name } }));
  presetSelect.value = app.store.state.crf.preset;
  const fields = byId('crf-fields');
  const inputs = new Map<keyof CrfForm, HTMLInputElement>();
  for (const [key, label, step] of FORM_FIELDS) {
    const input = element('input', {
      attributes: { type: 'number', step: String(step), id: `crf-${key}`, 'aria-label': label },
    });
    inputs.set(key, input);
    fields.append(element('label', { text: label, attributes: { for: `crf-${key}` } }), input);
  }
  const fillForm = () => {
    const form = app.store.state.crf.form;
    for (const [key, input] of inputs) input.value = String(form[key]);
  };
  fillForm();
  presetSelect.addEventListener('change', () => {
    app.setCrfPreset(presetSelect.value as PresetName);
    fillForm();
  });
  byId('crf-apply').addEventListener('click', () => {
    const form = { ...app.store.state.crf.form };
    for (const [key, input] of inputs) form[key] = input.value === '' ? Number.NaN : Number(input.value);
    app.setCrfForm(form);
    void app.applyCrfSettings();
  });

  mountFinetune(app);

  void app.start({
    name: SAMPLE_IMAGES[0]!.name,
    blob: async () => (await fetch(SAMPLE_IMAGES[0]!.url)).blob(),
  });
}

try {
  setUp();
} catch (error) {
  showFatal(error);
}
