import {
  type LossReduction,
  type Module,
  type ParameterEntry,
  type ParameterGroup,
  type SegmentationModel,
  SemsegError,
  type TrainingOutput,
} from '@semseg/core';
import { softmaxCrossEntropy } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import {
  type OptimizerConfig,
  type ParameterGroupOf,
  ParameterOptimizer,
  defaultParameterGroup,
} from './optimizer.js';
import { type LrSchedule, learningRate } from './schedule.js';

/** A loss that is NaN or infinite: training stops rather than corrupting the weights. */
export class NonFiniteLossError extends SemsegError {
  readonly step: number;
  constructor(step: number, loss: number) {
    super(
      'E_NON_FINITE_LOSS',
      `loss became ${loss} at step ${step}; stopping (lower the learning rate, check the data)`,
    );
    this.step = step;
  }
}

export interface TrainerOptions {
  model: SegmentationModel;
  optimizer: OptimizerConfig;
  schedule: LrSchedule;
  /**
   * Multipliers by parameter name (a model definition's `parameterGroup`, Caffe's lr_mult and
   * decay_mult). Default: each parameter's own lr multiplier and decay flag.
   */
  parameterGroup?: (name: string, entry: ParameterEntry) => ParameterGroup;
  /** 'mean' over labelled pixels (default) or 'sum' (Caffe's `normalize: false`, the FCN solvers). */
  lossReduction?: LossReduction;
  /** Per-class loss weights (optional). */
  classWeights?: readonly number[];
  ignoreIndex?: number;
  /**
   * Modules whose parameters are all frozen (`setTrainable(false)`) run in evaluation mode while
   * training: their batch norms keep the running statistics and their dropout is off
   * (mmsegmentation's `norm_eval` for a frozen backbone; head-only fine-tuning). Default false:
   * the whole model trains in training mode, as PyTorch's `model.train()`.
   */
  frozenInEval?: boolean;
}

export interface StepResult {
  /** The step just taken (1-based count of updates). */
  step: number;
  loss: number;
  lr: number;
}

/**
 * Resolves after queued I/O and messages have had their turn (and, from the second step of a loop
 * on, due timers: an immediate queued inside a timer callback runs before the next timers phase).
 * Not a timer itself: setTimeout(0) would add a millisecond or more to every step.
 */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

/** Puts every subtree whose parameters are all frozen in evaluation mode. */
function evalFrozenModules(module: Module): void {
  const parameters = module.namedParameters();
  if (parameters.length > 0 && parameters.every((p) => !p.trainable)) {
    module.eval();
    return;
  }
  for (const [, child] of module.children()) evalFrozenModules(child);
}

/** One optimisation step at a time over batches of (normalised NHWC images, labels). */
export class Trainer {
  readonly model: SegmentationModel;
  readonly optimizer: ParameterOptimizer;
  readonly schedule: LrSchedule;
  readonly lossReduction: LossReduction;
  private readonly classWeights: readonly number[] | undefined;
  private readonly ignoreIndex: number;
  private readonly frozenInEval: boolean;
  /** Updates done so far. */
  step = 0;

  constructor(options: TrainerOptions) {
    this.model = options.model;
    const groupOf = options.parameterGroup;
    this.optimizer = this.createOptimizer(
      options.model.namedParameters(),
      options.optimizer,
      groupOf ? (entry) => groupOf(entry.name, entry) : defaultParameterGroup,
    );
    this.schedule = options.schedule;
    this.lossReduction = options.lossReduction ?? 'mean';
    this.classWeights = options.classWeights;
    this.ignoreIndex = options.ignoreIndex ?? 255;
    this.frozenInEval = options.frozenInEval ?? false;
  }

  /** The optimiser over the model's parameters (a subclass may keep its state elsewhere). */
  protected createOptimizer(
    parameters: ConstructorParameters<typeof ParameterOptimizer>[0],
    config: TrainerOptions['optimizer'],
    groupOf: ParameterGroupOf,
  ): ParameterOptimizer {
    return new ParameterOptimizer(parameters, config, groupOf);
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return learningRate(this.schedule, this.step);
  }

  /**
   * The training objective on one batch: the weighted sum of the model's training outputs (its
   * `trainingOutputs`, or `forward` against the labels), each a pixel-wise cross-entropy reduced
   * as `lossReduction` says.
   */
  loss(images: tf.Tensor4D, labels: tf.Tensor3D, pixelWeights?: tf.Tensor3D): tf.Scalar {
    return tf.tidy(() => {
      const outputs: TrainingOutput[] = this.model.trainingOutputs
        ? this.model.trainingOutputs(images, labels, pixelWeights)
        : [
            {
              logits: this.model.forward(images),
              labels,
              weight: 1,
              ...(pixelWeights ? { pixelWeights } : {}),
            },
          ];
      const terms = outputs.map((output) => tf.mul(this.term(output), output.weight));
      return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
    });
  }

  /** One output's cross-entropy, reduced as `lossReduction` says, per-pixel weighted if given. */
  private term({ logits, labels, pixelWeights }: TrainingOutput): tf.Tensor {
    const options = {
      ignoreIndex: this.ignoreIndex,
      ...(this.classWeights ? { classWeights: this.classWeights } : {}),
    };
    if (!pixelWeights)
      return softmaxCrossEntropy(logits, labels, { ...options, reduction: this.lossReduction });
    const perPixel = softmaxCrossEntropy(logits, labels, { ...options, reduction: 'none' });
    const total = tf.sum(tf.mul(perPixel, pixelWeights));
    if (this.lossReduction === 'sum') return total;
    const labelled = tf.sum(tf.cast(tf.notEqual(labels, this.ignoreIndex), 'float32'));
    return tf.div(total, tf.maximum(labelled, 1));
  }

  /**
   * Forward, backward and update on one batch. Throws NonFiniteLossError (weights untouched) when
   * the loss is not finite. The loss is read asynchronously, which every backend supports (WebGPU
   * in Node has no synchronous read-back). The step ends with a turn of the event loop: on the CPU
   * backends a read-back resolves as a microtask, and a loop of steps would otherwise hold the
   * thread, starving timers, signals, I/O and the page, for as long as it trains.
   */
  async trainStep(
    images: Float32Array,
    labels: Uint8Array,
    shape: readonly [number, number, number],
    extra: { pixelWeights?: Float32Array } = {},
  ): Promise<StepResult> {
    const [n, h, w] = shape;
    const lr = this.lr;
    this.model.train();
    if (this.frozenInEval) evalFrozenModules(this.model);
    const x = tf.tensor4d(images, [n, h, w, 3]);
    const y = tf.tensor3d(Int32Array.from(labels), [n, h, w], 'int32');
    const weights = extra.pixelWeights ? tf.tensor3d(extra.pixelWeights, [n, h, w]) : undefined;
    let lossValue = Number.NaN;
    try {
      const { value, grads } = tf.variableGrads(() => this.loss(x, y, weights), this.optimizer.variables());
      const loss = (await value.data())[0]!;
      lossValue = loss;
      try {
        if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.step + 1, loss);
        this.optimizer.apply(grads, lr);
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
      this.step++;
    } finally {
      tf.dispose([x, y, ...(weights ? [weights] : [])]);
    }
    await nextMacrotask();
    return { step: this.step, loss: lossValue, lr };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
