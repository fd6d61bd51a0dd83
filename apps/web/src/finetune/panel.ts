// The "Fine-tune in the browser" panel: brush marks (or drop a VOC label PNG) on the page's
// image, fine-tune a copy of the page's model on them (worker or main thread, see client.ts),
// watch the loss and the prediction, pause/resume, download the checkpoint or use it in the page.
import {
  type CheckpointMeta,
  MODEL_JSON,
  type SegmentationModel,
  WEIGHTS_BIN,
  encodeCheckpoint,
} from '@semseg/core';
import { completePalette, encodeLabelPng } from '@semseg/voc-data';
import { WASM_DIRECTORY } from '../backends.js';
import type { AppState } from '../state.js';
import { element } from '../ui/dom.js';
import { userMessage } from '../user-message.js';
import { FinetuneClient, type FinetuneWorkerLike, type Placement } from './client.js';
import type { TrainableLayers } from './head.js';
import { Marks, agreementOnMarks, marksFromLabelPng } from './marks.js';
import type { CheckpointBytes, FinetuneEvent, FinetuneSettings } from './protocol.js';
import { composeLayers, lossCurvePoints } from './render.js';
import './finetune.css';

/** What the panel needs from the page (the App has all of it). */
export interface FinetunePage {
  readonly store: { readonly state: AppState; subscribe(listener: (state: AppState) => void): void };
  /** The model the page runs now and its checkpoint metadata. */
  currentModel(): { model: SegmentationModel; meta: CheckpointMeta } | null;
  /** Loads checkpoint files into the page, as a drop of model.json + weights.bin does. */
  openCheckpointFiles(files: File[]): Promise<void>;
}

type RunState = 'idle' | 'starting' | 'running' | 'paused' | 'done' | 'error';

const CURVE = { width: 320, height: 90 };

function download(bytes: BlobPart, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = element('a', { attributes: { href: url, download: name } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Builds the panel after the page's <main> and wires it to the page. */
export function mountFinetune(
  page: FinetunePage,
  createWorker: () => FinetuneWorkerLike = () =>
    new Worker(new URL('./finetune.worker.ts', import.meta.url), {
      type: 'module',
    }) as unknown as FinetuneWorkerLike,
): void {
  const client = new FinetuneClient(createWorker, () => page.store.state.backend?.name ?? 'cpu');
  const $ = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    id: string,
    attributes: Record<string, string> = {},
    text?: string,
  ) => element(tag, { attributes: { id, ...attributes }, ...(text !== undefined ? { text } : {}) });

  const canvas = $('canvas', 'ft-canvas', { width: '1', height: '1', 'aria-label': 'Marks for fine-tuning' });
  const classes = $('div', 'ft-classes', { role: 'radiogroup', 'aria-label': 'Class to brush' });
  const brush = $('input', 'ft-brush', { type: 'range', min: '1', max: '30', step: '1', value: '5' });
  const eraser = $('input', 'ft-eraser', { type: 'checkbox' });
  const clear = $('button', 'ft-clear', { type: 'button' }, 'Clear marks');
  const labelInput = $('input', 'ft-label-input', { type: 'file', accept: 'image/png' });
  const marksDownload = $('button', 'ft-download-marks', { type: 'button' }, 'Download marks (label PNG)');
  const showPrediction = $('input', 'ft-show-prediction', { type: 'checkbox', checked: '' });
  const layers = $('select', 'ft-layers', { 'aria-label': 'Layers to train' });
  layers.append(
    element('option', { text: 'head only (classifier layers)', attributes: { value: 'head' } }),
    element('option', { text: 'all layers', attributes: { value: 'all' } }),
  );
  const steps = $('input', 'ft-steps', { type: 'number', min: '1', max: '5000', step: '1', value: '20' });
  const rate = $('input', 'ft-lr', { type: 'number', min: '0', step: 'any', value: '0.001' });
  const start = $('button', 'ft-start', { type: 'button' }, 'Fine-tune');
  const pause = $('button', 'ft-pause', { type: 'button', disabled: '' }, 'Pause');
  const state = $(
    'p',
    'ft-state',
    { class: 'info', 'data-state': 'idle' },
    'Mark some pixels, then fine-tune.',
  );
  const marked = $('p', 'ft-marked', { class: 'info' });
  const placement = $('p', 'ft-placement', { class: 'info' });
  const svgNs = 'http://www.w3.org/2000/svg';
  const curve = document.createElementNS(svgNs, 'svg');
  curve.id = 'ft-loss';
  curve.setAttribute('viewBox', `0 0 ${CURVE.width} ${CURVE.height}`);
  curve.setAttribute('role', 'img');
  curve.setAttribute('aria-label', 'Training loss per step');
  const line = document.createElementNS(svgNs, 'polyline');
  curve.append(line);
  const curveLabel = $('p', 'ft-loss-label', { class: 'info' });
  const saveJson = $('button', 'ft-download-json', { type: 'button', disabled: '' }, MODEL_JSON);
  const saveWeights = $('button', 'ft-download-weights', { type: 'button', disabled: '' }, WEIGHTS_BIN);
  const use = $('button', 'ft-use', { type: 'button', disabled: '' }, 'Use in the page');
  const message = $('p', 'ft-error', { class: 'form-errors', role: 'alert' });

  const label = (text: string, control: HTMLElement) => element('label', { text }, [control]);
  const section = element('section', { attributes: { id: 'finetune', 'aria-labelledby': 'ft-title' } }, [
    element('h2', { text: 'Fine-tune in the browser', attributes: { id: 'ft-title' } }),
    element('div', { className: 'ft-layout' }, [
      element('div', { className: 'ft-canvas-box' }, [
        canvas,
        element('p', {
          className: 'hint',
          text: 'Brush with the chosen class; drop a label PNG (VOC layout: value = class, 255 = ignored) here.',
        }),
      ]),
      element('div', { className: 'ft-controls' }, [
        element('fieldset', {}, [
          element('legend', { text: 'Marks' }),
          classes,
          element('div', { className: 'row' }, [
            label('Brush radius ', brush),
            label(' Eraser', eraser),
            clear,
          ]),
          element('div', { className: 'row' }, [label('Label PNG ', labelInput), marksDownload]),
          label(' Show the prediction under the marks', showPrediction),
          marked,
        ]),
        element('fieldset', {}, [
          element('legend', { text: 'Training' }),
          element('div', { className: 'fields' }, [
            element('label', { text: 'Layers', attributes: { for: 'ft-layers' } }),
            layers,
            element('label', { text: 'Steps', attributes: { for: 'ft-steps' } }),
            steps,
            element('label', { text: 'Learning rate (Adam)', attributes: { for: 'ft-lr' } }),
            rate,
          ]),
          element('div', { className: 'row' }, [start, pause]),
          state,
          placement,
          curve as unknown as HTMLElement,
          curveLabel,
          element('div', { className: 'row' }, [
            element('span', { text: 'Fine-tuned checkpoint: ' }),
            saveJson,
            saveWeights,
            use,
          ]),
          message,
        ]),
      ]),
    ]),
  ]);
  document.querySelector('main')?.after(section);

  // The panel's own state.
  let marks: Marks | null = null;
  let imageKey: Uint8Array | null = null;
  let prediction: Uint8Array | null = null;
  let brushClass = 0;
  let runState: RunState = 'idle';
  let losses: number[] = [];
  let plannedSteps = 0;
  let step = 0;
  /** Milliseconds of each training step (forward, backward, update; not the previews). */
  let stepMs: number[] = [];
  let exported: CheckpointBytes | null = null;

  const image = () => page.store.state.image;
  const checkpoint = () => page.store.state.checkpoint;

  function fail(error: unknown, what: string): void {
    message.textContent = `${what}: ${userMessage(error)}`;
  }

  function draw(): void {
    const img = image();
    const info = checkpoint();
    if (!img || !marks || !info) return;
    if (canvas.width !== img.width || canvas.height !== img.height) {
      canvas.width = img.width;
      canvas.height = img.height;
    }
    const pixels = composeLayers({
      rgb: img.pixels,
      width: img.width,
      height: img.height,
      prediction: showPrediction.checked ? prediction : null,
      predictionOpacity: 0.45,
      marks: marks.labels,
      marksOpacity: 0.8,
      palette: completePalette(info.palette),
    });
    canvas.getContext('2d')?.putImageData(new ImageData(pixels, img.width, img.height), 0, 0);
    const counts = marks.counts();
    marked.textContent =
      counts.marked === 0
        ? 'No pixels marked: unmarked pixels are ignored (label 255).'
        : `${counts.marked} pixels marked (${[...counts.perClass]
            .map(([c, n]) => `${info.classes[c] ?? c}: ${n}`)
            .join(', ')}); the rest are ignored.`;
    marked.dataset.marked = String(counts.marked);
    if (prediction) {
      const share = agreementOnMarks(marks.labels, prediction);
      canvas.dataset.markedAgreement = Number.isFinite(share) ? share.toFixed(6) : '';
    }
  }

  function drawClasses(): void {
    const info = checkpoint();
    classes.replaceChildren();
    if (!info) return;
    brushClass = Math.min(brushClass, info.classes.length - 1);
    info.classes.forEach((name, index) => {
      const [r, g, b] = info.palette[index] ?? [0, 0, 0];
      const button = element(
        'button',
        {
          attributes: {
            type: 'button',
            role: 'radio',
            'aria-checked': String(index === brushClass),
            'data-class': String(index),
            title: name,
          },
        },
        [
          element('span', {
            className: 'swatch',
            attributes: { style: `background: rgb(${r}, ${g}, ${b})` },
          }),
        ],
      );
      button.append(name);
      button.addEventListener('click', () => {
        brushClass = index;
        eraser.checked = false;
        for (const other of classes.children) other.setAttribute('aria-checked', String(other === button));
      });
      classes.append(button);
    });
  }

  function showRun(): void {
    state.dataset.state = runState;
    state.dataset.step = String(step);
    state.dataset.losses = JSON.stringify(losses);
    const last = losses.at(-1);
    const lastMs = stepMs.at(-1);
    const lossText =
      last === undefined || lastMs === undefined
        ? ''
        : `, loss ${last.toFixed(4)} (${(lastMs / 1000).toFixed(2)} s/step)`;
    state.dataset.stepMs = JSON.stringify(stepMs.map(Math.round));
    state.textContent = {
      idle: 'Mark some pixels, then fine-tune.',
      starting: 'Copying the model…',
      running: `Training: step ${step} of ${plannedSteps}${lossText}`,
      paused: `Paused at step ${step} of ${plannedSteps}${lossText}`,
      done: `Done: ${step} steps${lossText}`,
      error: 'Fine-tuning failed',
    }[runState];
    pause.disabled = runState !== 'running' && runState !== 'paused';
    pause.textContent = runState === 'paused' ? 'Resume' : 'Pause';
    start.textContent = runState === 'running' || runState === 'paused' ? 'Restart' : 'Fine-tune';
    const ready = runState === 'done' || runState === 'paused';
    saveJson.disabled = !ready;
    saveWeights.disabled = !ready;
    use.disabled = !ready;
    line.setAttribute('points', lossCurvePoints(losses, plannedSteps, CURVE.width, CURVE.height));
    curveLabel.textContent =
      losses.length > 0
        ? `Loss: ${losses[0]!.toFixed(4)} at step 1, ${last!.toFixed(4)} at step ${losses.length}`
        : '';
  }

  // Follow the page: a new image resets the marks; a new checkpoint keeps marks that still fit.
  page.store.subscribe((s) => {
    if (!s.image || !s.checkpoint) return;
    if (s.image.pixels !== imageKey) {
      imageKey = s.image.pixels;
      marks = new Marks(s.image.width, s.image.height);
      prediction = null;
      drawClasses();
    } else if (marks?.labels.some((v) => v !== 255 && v >= s.checkpoint!.classes.length)) {
      marks?.clear();
    }
    if (classes.childElementCount !== s.checkpoint.classes.length) drawClasses();
    draw();
  });

  // Brushing.
  let last: { x: number; y: number } | null = null;
  const toImage = (event: PointerEvent) => {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * canvas.width,
      y: ((event.clientY - box.top) / box.height) * canvas.height,
    };
  };
  const paint = (event: PointerEvent) => {
    if (!marks || !last) return;
    const at = toImage(event);
    marks.stroke(last, at, Number(brush.value), eraser.checked ? 255 : brushClass);
    last = at;
    draw();
  };
  canvas.addEventListener('pointerdown', (event) => {
    if (!marks) return;
    canvas.setPointerCapture?.(event.pointerId);
    last = toImage(event);
    paint(event);
  });
  canvas.addEventListener('pointermove', paint);
  const endStroke = () => {
    last = null;
  };
  canvas.addEventListener('pointerup', endStroke);
  canvas.addEventListener('pointercancel', endStroke);
  clear.addEventListener('click', () => {
    marks?.clear();
    draw();
  });
  showPrediction.addEventListener('change', draw);

  // Label PNGs: chosen, or dropped on the canvas (the page's own drop handler does not see it).
  const readLabels = async (file: File) => {
    const img = image();
    const info = checkpoint();
    if (!img || !info) return;
    try {
      marks = marksFromLabelPng(
        new Uint8Array(await file.arrayBuffer()),
        file.name,
        img,
        info.classes.length,
      );
      message.textContent = '';
      draw();
    } catch (error) {
      fail(error, `Reading ${file.name}`);
    }
  };
  labelInput.addEventListener('change', () => {
    const file = labelInput.files?.[0];
    if (file) void readLabels(file);
    labelInput.value = '';
  });
  canvas.addEventListener('dragover', (event) => event.preventDefault());
  canvas.addEventListener('drop', (event) => {
    event.preventDefault();
    event.stopPropagation();
    const file = event.dataTransfer?.files[0];
    if (file) void readLabels(file);
  });
  marksDownload.addEventListener('click', () => {
    const img = image();
    const info = checkpoint();
    if (!img || !marks || !info) return;
    const stem = img.name.replace(/\.[^.]+$/, '');
    const png = encodeLabelPng(marks.labels, marks.width, marks.height, completePalette(info.palette));
    download(png as BlobPart, `${stem}.marks.png`, 'image/png');
  });

  // Training.
  const onEvent = (event: FinetuneEvent) => {
    if (event.type === 'ready') {
      runState = 'running';
      placement.dataset.trainable = String(event.trainable.scalars);
      placement.textContent += `; training ${event.trainable.tensors} tensors, ${event.trainable.scalars.toLocaleString('en')} of ${event.trainable.total.toLocaleString('en')} parameters`;
    } else if (event.type === 'step') {
      step = event.step;
      losses = [...losses, event.loss];
      stepMs = [...stepMs, event.milliseconds];
    } else if (event.type === 'prediction') {
      prediction = event.labels;
      canvas.dataset.predictionStep = String(event.step);
      draw();
    } else if (event.type === 'paused') runState = 'paused';
    else if (event.type === 'resumed') runState = 'running';
    else if (event.type === 'done') runState = 'done';
    else if (event.type === 'error') {
      runState = 'error';
      fail(new Error(event.message), 'Fine-tuning');
    }
    showRun();
  };
  const onPlaced = (where: Placement) => {
    placement.dataset.where = where.where === 'worker' ? 'worker' : 'main';
    placement.dataset.backend = where.backend;
    placement.textContent =
      where.where === 'worker'
        ? `Runs in a Web Worker on ${where.backend}`
        : `Runs on the page's thread on ${where.backend} (${where.reason})`;
  };

  function readSettings(): FinetuneSettings | string {
    const stepCount = Number(steps.value);
    const learningRate = Number(rate.value);
    if (!Number.isInteger(stepCount) || stepCount < 1 || stepCount > 5000) return 'steps must be 1..5000';
    if (!(learningRate > 0 && learningRate < 1)) return 'the learning rate must be above 0 and below 1';
    return {
      layers: layers.value as TrainableLayers,
      steps: stepCount,
      learningRate,
      previewEvery: Math.max(1, Math.round(stepCount / 10)),
    };
  }

  start.addEventListener('click', async () => {
    message.textContent = '';
    const img = image();
    const current = page.currentModel();
    const backend = page.store.state.backend?.name;
    if (!img || !marks || !current || !backend)
      return fail(new Error('load a model and an image first'), 'Fine-tuning');
    if (marks.counts().marked === 0)
      return fail(new Error('nothing is marked: brush some pixels or drop a label PNG'), 'Fine-tuning');
    const settings = readSettings();
    if (typeof settings === 'string') return fail(new Error(settings), 'Fine-tuning');
    runState = 'starting';
    losses = [];
    stepMs = [];
    step = 0;
    plannedSteps = settings.steps;
    exported = null;
    placement.textContent = '';
    showRun();
    try {
      const encoded = await encodeCheckpoint(current.model.stateDict(), { ...current.meta, training: null });
      client.start(
        {
          checkpoint: { modelJsonText: JSON.stringify(encoded.modelJson), weights: encoded.weights },
          image: { width: img.width, height: img.height, data: img.pixels },
          labels: marks.labels,
          settings,
        },
        { name: backend, wasmDirectory: new URL(WASM_DIRECTORY, document.baseURI).href },
        { placed: onPlaced, event: onEvent },
      );
    } catch (error) {
      runState = 'error';
      showRun();
      fail(error, 'Fine-tuning');
    }
  });
  pause.addEventListener('click', () => {
    if (runState === 'running') client.pause();
    else if (runState === 'paused') client.resume();
  });

  const fineTuned = async (): Promise<CheckpointBytes> => {
    exported ??= await client.exportCheckpoint();
    // A paused run goes on: export again next time.
    const bytes = exported;
    if (runState !== 'done') exported = null;
    return bytes;
  };
  const save = (part: 'json' | 'weights') => async () => {
    try {
      const bytes = await fineTuned();
      if (part === 'json') download(bytes.modelJsonText, MODEL_JSON, 'application/json');
      else download(bytes.weights as BlobPart, WEIGHTS_BIN, 'application/octet-stream');
    } catch (error) {
      fail(error, 'Saving the fine-tuned checkpoint');
    }
  };
  saveJson.addEventListener('click', save('json'));
  saveWeights.addEventListener('click', save('weights'));
  use.addEventListener('click', async () => {
    try {
      const bytes = await fineTuned();
      await page.openCheckpointFiles([
        new File([bytes.modelJsonText], MODEL_JSON, { type: 'application/json' }),
        new File([bytes.weights as BlobPart], WEIGHTS_BIN, { type: 'application/octet-stream' }),
      ]);
    } catch (error) {
      fail(error, 'Using the fine-tuned model');
    }
  });
  showRun();
}
