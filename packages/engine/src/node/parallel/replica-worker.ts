// A replica thread: its own tfjs engine and backend, its own copy of the model, built from the
// same registered architecture; it computes one shard's gradients per training step, or
// predicts images, reading the weights the main thread wrote into shared memory.
import { parentPort } from 'node:worker_threads';
import { Rng, type SegmentationModel, createModel } from '@semseg/core';
import { useNodeBackend } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { refineWithCrf } from '../../inference/crf.js';
import { predictImageAsync } from '../../inference/predict.js';
import { exchangeCounts } from './barrier.js';
import { checkSameLayout, entryView, readState, stateLayout, valuesToCopy } from './layout.js';
import type { PredictRequest, ReplicaInit, ReplicaReply, ReplicaRequest, StepRequest } from './protocol.js';
import { shardLoss } from './shard-loss.js';
import { UpdateKernel } from './update-kernel.js';
import { type UpdateContext, runUpdatePhase } from './update-phase.js';

if (!parentPort) throw new Error('replica-worker runs in a worker thread');
const port = parentPort;

let init: ReplicaInit | null = null;
let model: SegmentationModel | null = null;
/** The SIMD update over the pool's shared memory, when the pool placed everything in one. */
let kernel: UpdateKernel | null = null;

const reply = (message: ReplicaReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function start(message: ReplicaInit): Promise<void> {
  init = message;
  if (message.prod) tf.env().set('PROD', true);
  for (const plugin of message.plugins) await import(plugin);
  await useNodeBackend(message.backend);
  if (tf.getBackend() !== message.backend)
    throw new Error(`backend ${message.backend} did not start in the replica thread`);
  model = createModel(message.architecture.name, message.architecture.config, { rng: new Rng(0) });
  kernel = message.memory && message.optimizer ? new UpdateKernel(message.memory) : null;
  checkSameLayout(message.layout, stateLayout(model.namedEntries()), `replica ${message.index + 1}`);
}

function step(request: StepRequest): ReplicaReply {
  const setup = init!;
  const replica = model!;
  if (!setup.optimizer)
    throw new Error('this replica pool was started without an optimiser: it does not train');
  const t0 = performance.now();
  readState(replica, setup.layout, setup.state);
  replica.loadGeneratorStates(request.generators);
  replica.train();
  const [n, h, w] = request.shape;
  const trainable = setup.gradLayout.entries.filter((e) => e.trainable);
  const own = setup.gradients[setup.index]!;
  const finish = (
    loss: number,
    hasGradient: boolean[],
    timings: { read: number; compute: number; counts: number; write: number },
    deferred: { count: number; minimum: number } | null = null,
  ) => {
    const result = runUpdatePhase(updateContext(setup), {
      sequence: request.sequence,
      parts: request.parts,
      lr: request.lr,
      iteration: request.iteration,
      loss,
      deferred,
      hasGradient,
    });
    return {
      type: 'stepped' as const,
      loss: result.loss,
      timings: { ...timings, barrier: result.waited, update: result.updated },
    };
  };
  if (n === 0) {
    // Fewer images than threads: nothing to compute, but the others wait for this thread's counts
    // and it still updates its part of the parameters.
    if (setup.loss.reduction === 'mean')
      exchangeCounts(setup.barrier, setup.replicas, setup.index, request.sequence, []);
    return finish(
      0,
      trainable.map(() => false),
      { read: 0, compute: 0, counts: 0, write: 0 },
    );
  }
  const byName = new Map(replica.namedEntries().map((e) => [e.name, e.variable]));
  const variables = trainable.map((e) => byName.get(e.name)!);
  const x = tf.tensor4d(request.images, [n, h, w, 3]);
  const y = tf.tensor3d(Int32Array.from(request.labels), [n, h, w], 'int32');
  const weights = request.pixelWeights ? tf.tensor3d(request.pixelWeights, [n, h, w]) : undefined;
  const t1 = performance.now();
  let loss: number;
  let hasGradient: boolean[];
  let timings: { read: number; compute: number; counts: number; write: number };
  let countsWait = 0;
  let deferred: { count: number; minimum: number } | null = null;
  // Every thread has a shard: a single-term mean loss is divided in the update, with no exchange
  // mid-step. With idle threads (fewer images than threads) the counts are exchanged, since an
  // idle thread cannot know how many terms the model has.
  const defer = request.parts === setup.replicas;
  try {
    const { value, grads } = tf.variableGrads(
      () =>
        shardLoss(replica, x, y, weights, {
          ...setup.loss,
          totals: (counts) => {
            const waitStarted = performance.now();
            const totals = exchangeCounts(
              setup.barrier,
              setup.replicas,
              setup.index,
              request.sequence,
              counts,
            );
            countsWait += performance.now() - waitStarted;
            return totals;
          },
          ...(defer
            ? {
                defer: (count: number, minimum: number) => {
                  deferred = { count, minimum };
                },
              }
            : {}),
        }),
      variables as tf.Variable[],
    );
    try {
      loss = value.dataSync()[0]!;
      const t2 = performance.now();
      hasGradient = trainable.map((entry, i) => {
        const view = entryView(own, entry);
        const g = grads[variables[i]!.name];
        if (g) view.set(valuesToCopy(g));
        else view.fill(0);
        return Boolean(g);
      });
      // The buffers this shard's forward updated (batch-norm running statistics).
      for (const entry of setup.gradLayout.entries) {
        if (entry.trainable) continue;
        entryView(own, entry).set(valuesToCopy(byName.get(entry.name)!));
      }
      timings = { read: t1 - t0, compute: t2 - t1, counts: countsWait, write: performance.now() - t2 };
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  } finally {
    tf.dispose([x, y, ...(weights ? [weights] : [])]);
  }
  return finish(loss, hasGradient, timings, deferred);
}

function updateContext(setup: ReplicaInit): UpdateContext {
  return {
    replicas: setup.replicas,
    index: setup.index,
    buffer: setup.update,
    gradients: setup.gradients,
    gradLayout: setup.gradLayout,
    state: setup.state,
    layout: setup.layout,
    slots: setup.slots,
    optimizer: setup.optimizer!,
    groups: setup.groups,
    kernel,
    gradientStride: setup.gradientStride,
  };
}

async function predict(request: PredictRequest): Promise<ReplicaReply> {
  const replica = model!;
  if (request.reload) readState(replica, init!.layout, init!.state);
  replica.eval();
  const prediction = await predictImageAsync(replica, request.image, request.options);
  const base = {
    type: 'predicted' as const,
    labels: prediction.labels,
    numClasses: prediction.numClasses,
    ...(request.probabilities ? { probabilities: prediction.probabilities } : {}),
  };
  if (!request.crf) return { ...base, timings: prediction.timings };
  const refined = refineWithCrf(request.image, prediction, request.crf);
  return {
    ...base,
    crfLabels: refined.labels,
    ...(request.probabilities ? { q: refined.q } : {}),
    timings: { ...prediction.timings, crf: refined.milliseconds },
  };
}

async function handle(message: ReplicaInit | ReplicaRequest): Promise<void> {
  try {
    if (message.type === 'init') {
      await start(message);
      reply({ type: 'ready' });
    } else if (message.type === 'step') reply(step(message));
    else if (message.type === 'predict') reply(await predict(message));
    else if (message.type === 'close') {
      model?.dispose();
      port.close();
    }
  } catch (e) {
    const error = e as Error & { code?: string };
    reply({
      type: 'error',
      message: error?.message ?? String(e),
      ...(error?.name ? { name: error.name } : {}),
      ...(typeof error?.code === 'string' ? { code: error.code } : {}),
      ...(error?.stack ? { stack: error.stack } : {}),
    });
  }
}

// One request at a time, in order (a step must not start before the previous one ended).
let queue = Promise.resolve();
port.on('message', (message: ReplicaInit | ReplicaRequest) => {
  queue = queue.then(() => handle(message));
});
