// The page's actions: load a checkpoint or an image, switch backends, run the network and the CRF.
// Every action reports failure in the page (status line and banner) and leaves the last good
// result on screen.
import { type SegmentationModel, selectBackend } from '@semseg/core';
import type { PresetName } from '@semseg/crf';
import { completePalette, encodeLabelPng, overlayPicture } from '@semseg/voc-data';
import type { RgbImage } from '@semseg/voc-data';
import { encodeNpy } from '@semseg/weights';
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
import { type InferenceForm, inferenceSettings } from './inference-settings.js';
import { type LoadedModel, loadCheckpointModel } from './load-checkpoint.js';
import { ModelStore } from './model-store.js';
import { PageRuntime, type RuntimeChoice } from './page-runtime.js';
import { DEMO_CHECKPOINT_URL } from './samples.js';
import { segment } from './segment.js';
import { type AppState, type CompareMode, Store, initialState, recordRun, shownMap } from './state.js';
import { nextPaint } from './ui/dom.js';
import { userMessage } from './user-message.js';
import { type ImportWorkerLike, WeightsImportClient } from './weights-import/client.js';
import { ImportCancelled } from './weights-import/convert.js';
import type { ArchitectureFit } from './weights-import/match.js';

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

  private readonly importer: WeightsImportClient | null;
  private readonly models: ModelStore;
  private pendingChoice: ((architecture: string | null) => void) | null = null;
  private readonly runtime = new PageRuntime();

  constructor(
    backendChoice: BackendChoice,
    createWorker: () => WorkerLike,
    createImportWorker?: () => ImportWorkerLike,
    models: ModelStore = new ModelStore(),
  ) {
    this.store = new Store(initialState(backendChoice));
    this.crf = new CrfClient(createWorker);
    this.importer = createImportWorker ? new WeightsImportClient(createImportWorker) : null;
    this.models = models;
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

  /** Shows a failure of something outside the action queue (the camera). */
  showError(error: unknown, what: string): void {
    this.fail(error, what);
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
      if (!(await this.adoptStoredModel())) {
        try {
          this.busy('Loading the demo checkpoint…');
          await this.adoptCheckpoint(await checkpointFromUrl(DEMO_CHECKPOINT_URL, fetch, document.baseURI));
        } catch (error) {
          this.fail(error, 'Loading the demo checkpoint');
          return;
        }
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
        this.buildModel(this.files, this.state.checkpoint?.imported ?? null);
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

  /** The model kept from the last visit, if there is one and it still loads (else it is dropped). */
  private async adoptStoredModel(): Promise<boolean> {
    let stored: Awaited<ReturnType<ModelStore['load']>> = null;
    try {
      stored = await this.models.load();
    } catch (error) {
      console.warn('IndexedDB unavailable', error);
      return false;
    }
    if (!stored) return false;
    try {
      this.busy(`Loading the kept model ${stored.source}…`);
      await this.adoptCheckpoint(stored, false);
      this.set({ stored: { source: stored.source, savedAt: stored.savedAt } });
      return true;
    } catch (error) {
      this.fail(error, `Loading the kept model ${stored.source} (forgotten; the demo model runs)`);
      await this.models.forget().catch(() => undefined);
      return false;
    }
  }

  /** Deletes the kept model; the page keeps running the current one until the next visit. */
  forgetStoredModel(): Promise<void> {
    return this.enqueue(async () => {
      try {
        await this.models.forget();
        this.set({ stored: null, status: { kind: 'ready', text: 'The kept model is forgotten' } });
      } catch (error) {
        this.fail(error, 'Forgetting the kept model');
      }
    });
  }

  /**
   * A PyTorch (.pth, .safetensors) or Caffe (.caffemodel) file: read and converted in the import
   * worker, then run as any checkpoint. On failure the last model stays.
   */
  openWeightsFile(file: Blob, name: string): Promise<void> {
    this.crf.cancel();
    return this.enqueue(async () => {
      const importer = this.importer;
      if (!importer) {
        this.fail(new Error('this page was built without the import worker'), `Importing ${name}`);
        return;
      }
      let files: CheckpointFiles;
      let summary: NonNullable<AppState['checkpoint']>['imported'];
      try {
        this.set({ importing: { file: name, stage: 'reading', bytesRead: 0, size: file.size } });
        this.busy(`Reading ${name}…`);
        const converted = await importer.convert(file, name, this.budget(), {
          progress: (stage, bytesRead, size) => {
            this.set({ importing: { file: name, stage, bytesRead, size } });
            this.busy(`${stage[0]!.toUpperCase()}${stage.slice(1)} ${name}…`);
          },
          choose: (fits) => this.askArchitecture(name, fits),
        });
        summary = converted.summary;
        files = {
          source: `${name} (${summary.architecture})`,
          modelJsonText: converted.modelJsonText,
          weights: converted.weights,
        };
        this.busy(`Loading ${summary.architecture} on ${this.state.backend?.name ?? 'the backend'}…`);
        await this.adoptCheckpoint(files, true, summary);
      } catch (error) {
        this.set({ importing: null, choice: null });
        if (error instanceof ImportCancelled) {
          this.set({ status: { kind: 'ready', text: `Import of ${name} cancelled; the last model stays` } });
          return;
        }
        this.fail(error, `Importing ${name}`);
        return;
      }
      this.set({ importing: null });
      await this.runNetwork();
    });
  }

  private askArchitecture(file: string, fits: ArchitectureFit[]): Promise<string | null> {
    return new Promise((resolve) => {
      this.pendingChoice = resolve;
      this.set({
        choice: { file, fits: fits.map((f) => ({ name: f.name, description: f.description, map: f.map })) },
        status: { kind: 'idle', text: `Which architecture is ${file}?` },
      });
    });
  }

  /** The user's answer to the architecture question (null: cancel the import). */
  resolveChoice(architecture: string | null): void {
    const resolve = this.pendingChoice;
    this.pendingChoice = null;
    this.set({ choice: null });
    resolve?.(architecture);
  }

  /** The current checkpoint's two files, to save (model.json + weights.bin, as the CLI writes). */
  checkpointDownload(): Array<{ bytes: Uint8Array; name: string; type: string }> | null {
    const files = this.files;
    if (!files) return null;
    return [
      { bytes: new TextEncoder().encode(files.modelJsonText), name: 'model.json', type: 'application/json' },
      { bytes: files.weights, name: 'weights.bin', type: 'application/octet-stream' },
    ];
  }

  /** The overlay picture with its legend (@semseg/voc-data's, as `semseg predict --overlay`). */
  overlay(): { picture: ReturnType<typeof overlayPicture>; name: string } | null {
    const shown = shownMap(this.state);
    const checkpoint = this.state.checkpoint;
    const image = this.state.image;
    if (!shown || !checkpoint || !image) return null;
    const picture = overlayPicture(
      { width: image.width, height: image.height, data: image.pixels },
      shown.map.labels,
      checkpoint.classes,
      completePalette(checkpoint.palette),
    );
    const stem = image.name.replace(/\.[^.]+$/, '');
    return { picture, name: `${stem}${shown.refined ? '.crf' : ''}.overlay.png` };
  }

  /** The shown probabilities (the CRF's marginals when refined) as .npy, H x W x C float32. */
  probabilitiesNpy(): { bytes: Uint8Array; name: string } | null {
    const shown = shownMap(this.state);
    const image = this.state.image;
    if (!shown || !image || !Number.isFinite(shown.map.probabilities[0] ?? Number.NaN)) return null;
    const { width, height, numClasses } = shown.map;
    const stem = image.name.replace(/\.[^.]+$/, '');
    return {
      bytes: encodeNpy(shown.map.probabilities, [height, width, numClasses]),
      name: `${stem}${shown.refined ? '.crf' : ''}.npy`,
    };
  }

  setInferenceForm(form: InferenceForm): void {
    this.store.update((s) => ({ ...s, inference: { ...s.inference, form } }));
  }

  /** Runs the current image again with the inference form's settings. */
  applyInference(): Promise<void> {
    this.crf.cancel();
    return this.enqueue(() => {
      // Other settings, other labels: the backend comparison starts again.
      this.inputVersion++;
      return this.runNetwork();
    });
  }

  /** A camera frame: segmented as an image (serialised with the other actions). */
  segmentFrame(image: { width: number; height: number; data: Uint8Array }, name: string): Promise<void> {
    return this.enqueue(async () => {
      this.image = image;
      this.decodeMs = 0;
      this.inputVersion++;
      this.set({ image: { name, pixels: image.data, width: image.width, height: image.height } });
      await this.runNetwork();
    });
  }

  setCamera(camera: Partial<AppState['camera']>): void {
    this.store.update((s) => ({ ...s, camera: { ...s.camera, ...camera } }));
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
  private async adoptCheckpoint(
    files: CheckpointFiles,
    keep = files.source !== new URL(DEMO_CHECKPOINT_URL, document.baseURI).href,
    imported?: NonNullable<AppState['checkpoint']>['imported'],
  ): Promise<void> {
    await nextPaint();
    this.buildModel(files, imported ?? null);
    this.files = files;
    this.inputVersion++;
    if (keep && this.models.available) {
      try {
        await this.models.save(files);
        this.set({ stored: { source: files.source, savedAt: new Date().toISOString() } });
      } catch (error) {
        // Not kept (private mode, storage full): the model runs all the same.
        console.warn(`not kept in IndexedDB: ${userMessage(error)}`);
      }
    }
  }

  private budget() {
    const backend = this.state.backend?.name ?? tf.engine().backendName ?? 'cpu';
    const memory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
    return deviceBudget(memory, backend, this.facts);
  }

  private buildModel(
    files: CheckpointFiles,
    imported: NonNullable<AppState['checkpoint']>['imported'] | null,
  ): void {
    const loaded = loadCheckpointModel(files, this.budget());
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
        parameters: loaded.model.numParameters(),
        normalization: meta.normalization,
        ...(imported ? { imported } : {}),
      },
    });
  }

  private disposeModel(): void {
    const model: SegmentationModel | undefined = this.loaded?.model;
    this.loaded = null;
    void this.runtime.release();
    model?.dispose();
  }

  /** Runs the network on tfjs or onnxruntime-web (page-runtime.ts) and segments again. */
  async chooseRuntime(choice: RuntimeChoice): Promise<void> {
    this.runtime.choose(choice);
    this.set({ runtimeChoice: choice });
    await this.runNetwork();
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
      const settings = inferenceSettings(this.state.inference.form, image);
      if ('errors' in settings) {
        this.store.update((s) => ({
          ...s,
          inference: { ...s.inference, errors: settings.errors },
          status: { kind: 'error', text: 'Check the inference settings' },
        }));
        return;
      }
      this.store.update((s) => ({ ...s, inference: { ...s.inference, errors: [] } }));
      const run = await this.runtime.modelFor(loaded.model, loaded.meta, image, settings, backend);
      this.set({ runtime: { label: run.label, trials: run.trials ?? [] } });
      const result = await segment(run.model, loaded.meta, image, run.label, this.decodeMs, settings);
      const sameInput = this.lastRunVersion === this.inputVersion;
      this.lastRunVersion = this.inputVersion;
      this.store.update((s) => ({
        ...s,
        network: result,
        runs: recordRun(s.runs, sameInput ? s.firstRun : null, result, sameInput),
        firstRun: sameInput && s.firstRun ? s.firstRun : result,
        crf: { ...s.crf, result: null, running: false, progressLabels: null },
        runtime: s.runtime && { ...s.runtime, threads: this.runtime.threadsOf(run) },
        status: { kind: 'ready', text: `Segmented on ${backend}` },
      }));
    } catch (error) {
      this.fail(error, `Segmenting on ${backend}`);
      return;
    }
    // Camera frames come too fast for the CRF: it runs on still images.
    if (this.state.crf.enabled && !this.state.camera.on) await this.runCrf();
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
