// The page's actions: load a checkpoint or an image, switch backends, run the network and the CRF.
// Every action reports failure in the page (status line and banner) and leaves the last good
// result on screen.
import { type SegmentationModel, selectBackend } from '@semseg/core';
import type { PresetName } from '@semseg/crf';
import { completePalette, encodeLabelPng } from '@semseg/voc-data';
import type { RgbImage } from '@semseg/voc-data';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendChoice, describeSelection } from './backend-choice.js';
import { type DeviceFacts, browserLoaders } from './backends.js';
import {
  type CheckpointFiles,
  type NamedBlob,
  checkpointFromFiles,
  checkpointFromUrl,
} from './checkpoint-source.js';
import { CrfCancelled, CrfClient, type WorkerLike } from './crf-client.js';
import { type CrfForm, formFromPreset, settingsFromForm } from './crf-settings.js';
import { deviceBudget } from './device-budget.js';
import { loadImage } from './image-input.js';
import { type LoadedModel, loadCheckpointModel } from './load-checkpoint.js';
import { DEMO_CHECKPOINT_URL } from './samples.js';
import { segment } from './segment.js';
import { type AppState, type CompareMode, Store, initialState, recordRun, shownMap } from './state.js';
import { nextPaint } from './ui/dom.js';
import { userMessage } from './user-message.js';

export class App {
  readonly store: Store;
  private readonly facts: DeviceFacts = {};
  private readonly crf: CrfClient;
  private files: CheckpointFiles | null = null;
  private loaded: LoadedModel | null = null;
  private image: RgbImage | null = null;
  /** Increases with every image or checkpoint change: runs compare only within one. */
  private inputVersion = 0;
  private lastRunVersion = -1;
  /** Serialises actions: a click while one runs waits for it. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(backendChoice: BackendChoice, createWorker: () => WorkerLike) {
    this.store = new Store(initialState(backendChoice));
    this.crf = new CrfClient(createWorker);
  }

  private get state(): AppState {
    return this.store.state;
  }

  private set(patch: Partial<AppState>): void {
    this.store.update((s) => ({ ...s, ...patch }));
  }

  private busy(text: string): void {
    this.set({ status: { kind: 'busy', text } });
  }

  private fail(error: unknown, what: string): void {
    const message = `${what}: ${userMessage(error)}`;
    console.error(message, error);
    this.set({ status: { kind: 'error', text: `${what} failed` }, error: message });
  }

  /** The model the page runs now and its checkpoint metadata (the fine-tune panel copies it). */
  currentModel(): LoadedModel | null {
    return this.loaded;
  }

  dismissError(): void {
    this.set({ error: null });
  }

  /** Runs actions one after another; each starts by clearing the last action's error. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const step = () => {
      this.set({ error: null });
      return task();
    };
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Startup: the backend, the demo checkpoint, the first sample image; each failure is shown. */
  start(firstImage: { blob: () => Promise<Blob>; name: string } | null): Promise<void> {
    return this.enqueue(async () => {
      const choice = this.state.backendChoice;
      if (!(await this.activateBackend(choice)) && choice !== 'auto') {
        // The backend asked for in the URL cannot start here: say so (the banner stays) and go on
        // with the best one there is.
        const reason = this.state.error;
        await this.activateBackend('auto');
        this.set({ error: reason, backendChoice: 'auto' });
      }
      try {
        this.busy('Loading the demo checkpoint…');
        await this.adoptCheckpoint(await checkpointFromUrl(DEMO_CHECKPOINT_URL, fetch, document.baseURI));
      } catch (error) {
        this.fail(error, 'Loading the demo checkpoint');
        return;
      }
      if (firstImage) {
        try {
          this.busy(`Loading ${firstImage.name}…`);
          await this.adoptImage(await firstImage.blob(), firstImage.name);
        } catch (error) {
          this.fail(error, `Opening ${firstImage.name}`);
          return;
        }
      }
      await this.runNetwork();
    });
  }

  chooseBackend(choice: BackendChoice): Promise<void> {
    this.crf.cancel();
    return this.enqueue(async () => {
      this.set({ backendChoice: choice });
      this.crf.cancel();
      this.disposeModel();
      await this.activateBackend(choice);
      if (!this.files) return;
      try {
        this.buildModel(this.files);
      } catch (error) {
        this.fail(error, 'Loading the checkpoint on this backend');
        return;
      }
      await this.runNetwork();
    });
  }

  openImage(blob: Blob, name: string): Promise<void> {
    this.crf.cancel();
    return this.enqueue(async () => {
      try {
        this.busy(`Decoding ${name}…`);
        await this.adoptImage(blob, name);
      } catch (error) {
        this.fail(error, `Opening ${name}`);
        return;
      }
      await this.runNetwork();
    });
  }

  openCheckpointFiles(files: readonly NamedBlob[]): Promise<void> {
    return this.openCheckpoint(() => checkpointFromFiles(files), files.map((f) => f.name).join(' + '));
  }

  openCheckpointUrl(url: string): Promise<void> {
    return this.openCheckpoint(() => checkpointFromUrl(url, fetch, document.baseURI), url);
  }

  private openCheckpoint(read: () => Promise<CheckpointFiles>, label: string): Promise<void> {
    this.crf.cancel();
    return this.enqueue(async () => {
      try {
        this.busy(`Loading checkpoint ${label}…`);
        await this.adoptCheckpoint(await read());
      } catch (error) {
        this.fail(error, `Loading checkpoint ${label}`);
        return;
      }
      await this.runNetwork();
    });
  }

  loadDemoCheckpoint(): Promise<void> {
    return this.openCheckpointUrl(DEMO_CHECKPOINT_URL);
  }

  setCrfEnabled(enabled: boolean): Promise<void> {
    this.store.update((s) => ({ ...s, crf: { ...s.crf, enabled } }));
    if (!enabled) {
      this.crf.cancel();
      this.store.update((s) => ({ ...s, crf: { ...s.crf, running: false, progressLabels: null } }));
      return Promise.resolve();
    }
    return this.enqueue(() => this.runCrf());
  }

  setCrfPreset(preset: PresetName): void {
    this.store.update((s) => ({
      ...s,
      crf: { ...s.crf, preset, form: formFromPreset(preset), formErrors: [] },
    }));
  }

  setCrfForm(form: CrfForm): void {
    this.store.update((s) => ({ ...s, crf: { ...s.crf, form } }));
  }

  applyCrfSettings(): Promise<void> {
    this.store.update((s) => ({ ...s, crf: { ...s.crf, enabled: true } }));
    return this.enqueue(() => this.runCrf());
  }

  setView(view: Partial<{ opacity: number; compare: CompareMode; split: number }>): void {
    this.store.update((s) => ({ ...s, view: { ...s.view, ...view } }));
  }

  /** The shown labels as an 8-bit palette PNG (class indices as pixel values, as `semseg predict`). */
  labelPng(): { bytes: Uint8Array; name: string } | null {
    const shown = shownMap(this.state);
    const checkpoint = this.state.checkpoint;
    if (!shown || !checkpoint || !this.state.image) return null;
    const palette = completePalette(checkpoint.palette);
    const stem = this.state.image.name.replace(/\.[^.]+$/, '');
    return {
      bytes: encodeLabelPng(shown.map.labels, shown.map.width, shown.map.height, palette),
      name: `${stem}${shown.refined ? '.crf' : ''}.labels.png`,
    };
  }

  /** Activates a backend; false (with the reason shown) when it could not start. */
  private async activateBackend(choice: BackendChoice): Promise<boolean> {
    this.busy(`Starting the ${choice} backend…`);
    try {
      const selection = await selectBackend(choice, browserLoaders(choice, this.facts));
      const detail =
        selection.name === 'webgpu'
          ? this.facts.webgpuAdapter?.description
          : selection.name === 'webgl'
            ? this.facts.webglRenderer
            : undefined;
      this.set({
        backend: {
          name: selection.name,
          ...describeSelection(choice, selection.name, selection.skipped, detail),
        },
      });
      return true;
    } catch (error) {
      this.fail(error, `Starting the ${choice} backend`);
      // selectBackend went back to the previous backend, if there was one. (tf.getBackend() would
      // start one of its own, hence the engine's field.)
      const active = tf.engine().backendName;
      if (active) {
        const kept = this.state.backend?.name === active ? this.state.backend : null;
        this.set({ backend: kept ?? { name: active, ...describeSelection('auto', active, [], 'kept') } });
      }
      return false;
    }
  }

  private async adoptImage(blob: Blob, name: string): Promise<void> {
    const start = performance.now();
    const { image, originalSize } = await loadImage(blob, name);
    this.decodeMs = performance.now() - start;
    this.image = image;
    this.inputVersion++;
    this.set({
      image: {
        name,
        pixels: image.data,
        width: image.width,
        height: image.height,
        ...(originalSize ? { originalSize } : {}),
      },
    });
  }

  private decodeMs = 0;

  /** Makes a checkpoint current; the previous model stays until the new one has loaded. */
  private async adoptCheckpoint(files: CheckpointFiles): Promise<void> {
    await nextPaint();
    this.buildModel(files);
    this.files = files;
    this.inputVersion++;
  }

  private buildModel(files: CheckpointFiles): void {
    const backend = this.state.backend?.name ?? tf.engine().backendName ?? 'cpu';
    const memory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
    const loaded = loadCheckpointModel(files, deviceBudget(memory, backend, this.facts));
    this.disposeModel();
    this.loaded = loaded;
    const { meta } = loaded;
    this.set({
      checkpoint: {
        source: files.source,
        architecture: meta.architecture.name,
        classes: meta.classes,
        palette: meta.palette,
        weightBytes: loaded.weightBytes,
      },
    });
  }

  private disposeModel(): void {
    const model: SegmentationModel | undefined = this.loaded?.model;
    this.loaded = null;
    model?.dispose();
  }

  private async runNetwork(): Promise<void> {
    const loaded = this.loaded;
    const image = this.image;
    if (!loaded || !image) {
      this.set({ status: { kind: 'idle', text: loaded ? 'Choose an image' : 'Load a checkpoint' } });
      return;
    }
    const backend = this.state.backend?.name ?? tf.engine().backendName ?? 'cpu';
    this.crf.cancel();
    this.busy(`Segmenting on ${backend}…`);
    await nextPaint();
    try {
      const result = await segment(loaded.model, loaded.meta, image, backend, this.decodeMs);
      const sameInput = this.lastRunVersion === this.inputVersion;
      this.lastRunVersion = this.inputVersion;
      this.store.update((s) => ({
        ...s,
        network: result,
        runs: recordRun(s.runs, sameInput ? s.firstRun : null, result, sameInput),
        firstRun: sameInput && s.firstRun ? s.firstRun : result,
        crf: { ...s.crf, result: null, running: false, progressLabels: null },
        status: { kind: 'ready', text: `Segmented on ${backend}` },
      }));
    } catch (error) {
      this.fail(error, `Segmenting on ${backend}`);
      return;
    }
    if (this.state.crf.enabled) await this.runCrf();
  }

  private async runCrf(): Promise<void> {
    const network = this.state.network;
    const image = this.state.image;
    if (!network || !image || !this.state.crf.enabled) return;
    const checked = settingsFromForm(this.state.crf.form);
    if ('errors' in checked) {
      this.store.update((s) => ({ ...s, crf: { ...s.crf, formErrors: checked.errors } }));
      return;
    }
    const { settings } = checked;
    this.store.update((s) => ({
      ...s,
      status: { kind: 'busy', text: 'Running the dense CRF…' },
      crf: {
        ...s.crf,
        formErrors: [],
        running: true,
        iteration: 0,
        iterations: settings.iterations,
        result: null,
        progressLabels: null,
        seenIterations: [],
      },
    }));
    try {
      const result = await this.crf.run(
        {
          width: network.width,
          height: network.height,
          numClasses: network.numClasses,
          probabilities: network.probabilities,
          rgb: image.pixels,
          settings,
        },
        (iteration, iterations, labels) =>
          this.store.update((s) => ({
            ...s,
            crf: {
              ...s.crf,
              iteration,
              iterations,
              progressLabels: labels,
              seenIterations: [...s.crf.seenIterations, iteration],
            },
          })),
      );
      this.store.update((s) => ({
        ...s,
        status: { kind: 'ready', text: `Segmented on ${network.backend}, refined by the CRF` },
        crf: { ...s.crf, running: false, result, progressLabels: null },
      }));
    } catch (error) {
      this.store.update((s) => ({ ...s, crf: { ...s.crf, running: false, progressLabels: null } }));
      if (error instanceof CrfCancelled) return;
      this.fail(error, 'The dense CRF');
    }
  }
}
