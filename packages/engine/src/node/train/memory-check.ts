// Before the first step on wasm: will a training step fit in wasm32's heap (at most 4 GiB)?
// A full-width FCN-8s at 500x500 does not, and finds out only after minutes of its first step.
// Activations grow with the image as a quadratic in its side (each layer's map is about
// (side / stride + a constant) squared; FCN's 100-pixel pad makes the constant large), so three
// probe steps at small sizes fix that quadratic, which is then read at the crop's size.
import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Trainer } from '../../train/trainer.js';

/** wasm32's heap limit. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** What a wasm module says when its heap cannot hold an allocation. */
export const WASM_OUT_OF_MEMORY =
  /memory access out of bounds|out of memory|Cannot enlarge memory|Array buffer allocation failed/i;

/** What works instead. */
export const ROUTES =
  'use --backend cpu (no such limit, slower), a smaller --crop or --batch-size, or a narrower --width';

/** Below these, a step cannot come near the limit: no probe. */
const PROBE_IF_FIXED_BYTES = 512 * 1024 ** 2;
const PROBE_IF_PIXELS = 512 * 512;

export interface StepMemoryEstimate {
  /** Weights, buffers and what else the heap holds now, plus the optimiser's slots to come. */
  fixedBytes: number;
  /** The gradients (one per trainable parameter). */
  gradientBytes: number;
  /**
   * The rest of the step's peak for the whole batch at its size: the activations the forward keeps
   * for the backward and the passes' temporaries (filter-sized ones included).
   */
  activationBytes: number;
  totalBytes: number;
  /** The probes' sides and the bytes each step added at its peak (batch 1). */
  probes: Array<{ side: number; bytes: number }>;
}

export interface StepShape {
  batchSize: number;
  height: number;
  width: number;
  /** Optimiser slots per parameter that the heap will hold (0 when they live elsewhere). */
  slotsPerParameter: number;
}

/**
 * Estimates a training step's peak heap use from three batch-1 probe steps at small square sizes
 * (zeros in, nothing applied; every tensor disposed). Probes that the model refuses (too small
 * for its windows) move to larger sides.
 */
export async function estimateStepMemory(
  trainer: Trainer,
  shape: StepShape,
  sides: readonly number[] = [64, 96, 128],
): Promise<StepMemoryEstimate> {
  const variables = trainer.optimizer.variables();
  const parameterBytes = trainableBytes(trainer);
  const before = tf.memory().numBytes;
  const probes: Array<{ side: number; bytes: number }> = [];
  let side = sides[0]!;
  for (let attempt = 0; probes.length < 3 && attempt < 8; attempt++) {
    try {
      probes.push({ side, bytes: (await probeStep(trainer, variables, side)) - before });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
    side = probes.length < sides.length ? Math.max(sides[probes.length]!, side + 32) : side + 32;
  }
  if (probes.length < 3) throw new ConfigError('the memory check found no input size this model accepts');
  const perImage = quadratic(probes);
  const at = Math.sqrt(shape.height * shape.width);
  // A probe's bytes are its gradients plus one image's activations.
  const activationBytes = Math.max(0, perImage(at) - parameterBytes) * shape.batchSize;
  const fixedBytes = before + parameterBytes * shape.slotsPerParameter;
  return {
    fixedBytes,
    gradientBytes: parameterBytes,
    activationBytes,
    totalBytes: fixedBytes + parameterBytes + activationBytes,
    probes,
  };
}

/**
 * Peak bytes of one forward and backward at side x side (batch 1), all freed after. The model's
 * dropout generators and buffers (batch-norm running statistics) are restored, so a run with the
 * check draws and ends exactly as one without it.
 */
async function probeStep(trainer: Trainer, variables: tf.Variable[], side: number): Promise<number> {
  const model = trainer.model;
  const generators = model.generatorStates();
  const buffers = model.namedEntries().filter((e) => !e.trainable);
  const saved = buffers.map((e) => tf.clone(e.variable));
  const x = tf.zeros([1, side, side, 3]) as tf.Tensor4D;
  const y = tf.zeros([1, side, side], 'int32') as tf.Tensor3D;
  try {
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => trainer.loss(x, y), variables);
      tf.dispose([value, ...Object.values(grads)]);
    });
    return info.peakBytes;
  } finally {
    buffers.forEach((e, i) => e.variable.assign(saved[i]!));
    model.loadGeneratorStates(generators);
    tf.dispose([x, y, ...saved]);
  }
}

/** The quadratic through three points (side, bytes), by Lagrange's formula. */
function quadratic(points: Array<{ side: number; bytes: number }>): (side: number) => number {
  const [p, q, r] = points as [(typeof points)[0], (typeof points)[0], (typeof points)[0]];
  return (s) =>
    (p.bytes * (s - q.side) * (s - r.side)) / ((p.side - q.side) * (p.side - r.side)) +
    (q.bytes * (s - p.side) * (s - r.side)) / ((q.side - p.side) * (q.side - r.side)) +
    (r.bytes * (s - p.side) * (s - q.side)) / ((r.side - p.side) * (r.side - q.side));
}

/** Bytes of the trainable parameters (float32): one gradient's worth, or one optimiser slot's. */
function trainableBytes(trainer: Trainer): number {
  return trainer.optimizer.variables().reduce((n, v) => n + v.size * 4, 0);
}

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/**
 * Refuses, before the first step, a wasm training step estimated not to fit in the heap, saying
 * what takes the room and what works instead. Small steps (little to store, small images) are
 * let through without a probe.
 */
export async function checkWasmStepFits(
  trainer: Trainer,
  shape: StepShape,
  limit = WASM_HEAP_BYTES,
): Promise<StepMemoryEstimate | null> {
  const parameterBytes = trainableBytes(trainer);
  const fixed = tf.memory().numBytes + parameterBytes * (1 + shape.slotsPerParameter);
  if (fixed < PROBE_IF_FIXED_BYTES && shape.batchSize * shape.height * shape.width < PROBE_IF_PIXELS)
    return null;
  let estimate: StepMemoryEstimate;
  try {
    estimate = await estimateStepMemory(trainer, shape);
  } catch (e) {
    // Weights, gradients and state so large that even a small probe does not fit.
    if (e instanceof Error && WASM_OUT_OF_MEMORY.test(e.message))
      throw new ConfigError(
        `even a batch-1 probe step at 64-128 px does not fit in wasm's heap (${e.message}); ${ROUTES}`,
      );
    throw e;
  }
  if (estimate.totalBytes > limit)
    throw new ConfigError(
      `a training step of batch ${shape.batchSize} at ${shape.height}x${shape.width} needs about ${gb(estimate.totalBytes)} on wasm ` +
        `(weights, buffers and optimiser state ${gb(estimate.fixedBytes)}, gradients ${gb(estimate.gradientBytes)}, ` +
        `activations and temporaries of the passes ${gb(estimate.activationBytes)}), more than wasm's ${gb(limit)} heap: ${ROUTES}`,
    );
  return estimate;
}
