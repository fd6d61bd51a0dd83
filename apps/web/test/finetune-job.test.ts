// The fine-tune job (what the worker runs) on the cpu backend: the engine's Trainer lowers the
// loss on the marked pixels and moves the prediction toward the marks; pause holds between steps;
// the exported checkpoint decodes to the trained weights; nothing leaks. And the client's
// fallback to the page's thread when the worker cannot start the backend.
import '@tensorflow/tfjs-backend-cpu';
import { Rng, createModel, decodeCheckpoint, encodeCheckpoint } from '@semseg/core';
import '@semseg/fcn';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FinetuneClient, type FinetuneWorkerLike, type Placement } from '../src/finetune/client.js';
import { FinetuneJob } from '../src/finetune/job.js';
import { agreementOnMarks } from '../src/finetune/marks.js';
import type {
  FinetuneEvent,
  FinetuneInput,
  FinetuneRequest,
  WorkerMessage,
} from '../src/finetune/protocol.js';

const SIZE = 32;
let input: FinetuneInput;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const model = createModel('fcn8s', { width: 1 / 16, numClasses: 3, dropout: 0 }, { rng: new Rng(1) });
  const encoded = await encodeCheckpoint(model.stateDict(), {
    architecture: { name: 'fcn8s', config: model.config! },
    classes: ['background', 'a', 'b'],
    palette: [
      [0, 0, 0],
      [128, 0, 0],
      [0, 128, 0],
    ],
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], scale: 1, channelOrder: 'rgb' },
  });
  model.dispose();
  const rng = new Rng(2);
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.next() * 256);
  // Left half marked "a", a stripe on the right marked "b", the rest unmarked.
  const labels = new Uint8Array(SIZE * SIZE).fill(255);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE / 2; x++) labels[y * SIZE + x] = 1;
    for (let x = SIZE - 6; x < SIZE - 2; x++) labels[y * SIZE + x] = 2;
  }
  input = {
    checkpoint: { modelJsonText: JSON.stringify(encoded.modelJson), weights: encoded.weights },
    image: { width: SIZE, height: SIZE, data },
    labels,
    settings: { layers: 'head', steps: 8, learningRate: 0.05, previewEvery: 4 },
  };
});

describe('FinetuneJob', () => {
  it('trains the head with the engine Trainer: loss down, prediction toward the marks, no leak', async () => {
    const baseline = tf.memory().numTensors;
    const events: FinetuneEvent[] = [];
    const job = new FinetuneJob(input, (event) => events.push(event));
    await job.run('cpu');
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('ready');
    expect(types.filter((t) => t === 'step')).toHaveLength(8);
    expect(types.at(-1)).toBe('done');
    const ready = events[0] as Extract<FinetuneEvent, { type: 'ready' }>;
    // fcn8s' head: score_fr, score_pool4, score_pool3 (kernels and biases).
    expect(ready.trainable.tensors).toBe(6);
    const losses = events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    const predictions = events.flatMap((e) => (e.type === 'prediction' ? [e] : []));
    expect(predictions.map((p) => p.step)).toEqual([0, 4, 8]);
    const before = agreementOnMarks(input.labels, predictions[0]!.labels);
    const after = agreementOnMarks(input.labels, predictions.at(-1)!.labels);
    expect(after).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(0.8);
    // The checkpoint holds the trained weights: the head changed, the frozen backbone did not.
    const exported = await job.exportCheckpoint();
    const original = decodeCheckpoint(input.checkpoint.modelJsonText, input.checkpoint.weights);
    const tuned = decodeCheckpoint(exported.modelJsonText, exported.weights);
    expect(tuned.meta.architecture).toEqual(original.meta.architecture);
    const changed = (name: string) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(original.tensors[name]!, tuned.tensors[name]!))).dataSync()[0]!);
    expect(changed('score_fr.weight')).toBeGreaterThan(0);
    expect(changed('backbone.conv1_1.weight')).toBe(0);
    tf.dispose([...Object.values(original.tensors), ...Object.values(tuned.tensors)]);
    await job.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('holds between steps while paused and goes on when resumed', async () => {
    const events: FinetuneEvent[] = [];
    let job: FinetuneJob | null = null;
    let onPaused: () => void = () => undefined;
    const paused = new Promise<void>((resolve) => {
      onPaused = resolve;
    });
    job = new FinetuneJob(
      { ...input, settings: { ...input.settings, steps: 4, previewEvery: 10 } },
      (event) => {
        events.push(event);
        if (event.type === 'step' && event.step === 2) job!.pause();
        if (event.type === 'paused') onPaused();
      },
    );
    const running = job.run('cpu');
    await paused;
    const steps = () => events.filter((e) => e.type === 'step').length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(steps()).toBe(2);
    job.resume();
    await running;
    expect(steps()).toBe(4);
    expect(
      events
        .map((e) => e.type)
        .filter((t) => t !== 'prediction')
        .slice(-5),
    ).toEqual(['paused', 'resumed', 'step', 'step', 'done']);
    await job.dispose();
  });

  it('says when nothing is marked', async () => {
    const events: FinetuneEvent[] = [];
    const job = new FinetuneJob({ ...input, labels: new Uint8Array(SIZE * SIZE).fill(255) }, (e) =>
      events.push(e),
    );
    await job.run('cpu');
    expect(events).toEqual([
      { type: 'error', message: 'nothing is marked: brush some pixels or drop a label PNG first' },
    ]);
    await job.dispose();
  });
});

/** A worker that cannot start any backend, as WebGL without OffscreenCanvas. */
class NoBackendWorker implements FinetuneWorkerLike {
  onmessage: ((event: MessageEvent<WorkerMessage>) => void) | null = null;
  onerror: ((event: ErrorEvent) => void) | null = null;
  terminated = false;
  postMessage(message: FinetuneRequest): void {
    if (message.type !== 'start') return;
    const data: WorkerMessage = {
      run: message.run,
      event: { type: 'unavailable', reason: 'WebGL in a worker needs OffscreenCanvas' },
    };
    queueMicrotask(() => this.onmessage?.({ data } as MessageEvent<WorkerMessage>));
  }
  terminate(): void {
    this.terminated = true;
  }
}

describe('FinetuneClient', () => {
  it("runs on the page's thread, and says why, when the worker cannot start the backend", async () => {
    const client = new FinetuneClient(
      () => new NoBackendWorker(),
      () => 'cpu',
      () => new Promise((resolve) => setTimeout(resolve, 0)),
    );
    const placements: Placement[] = [];
    const events: FinetuneEvent[] = [];
    const done = new Promise<void>((resolve) =>
      client.start(
        { ...input, settings: { ...input.settings, steps: 2 } },
        { name: 'webgl', wasmDirectory: '' },
        {
          placed: (p) => placements.push(p),
          event: (e) => {
            events.push(e);
            if (e.type === 'done' || e.type === 'error') resolve();
          },
        },
      ),
    );
    await done;
    expect(placements).toEqual([
      { where: 'main thread', backend: 'cpu', reason: 'WebGL in a worker needs OffscreenCanvas' },
    ]);
    expect(events.filter((e) => e.type === 'step')).toHaveLength(2);
    const checkpoint = await client.exportCheckpoint();
    expect(JSON.parse(checkpoint.modelJsonText).format).toBe('semseg-checkpoint');
    client.dispose();
  });
});
