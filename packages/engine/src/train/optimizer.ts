import {
  ConfigError,
  type OptimizerConfig,
  type ParameterEntry,
  type ParameterGroup,
  type StateDict,
} from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

export type { OptimizerConfig };

/** A parameter's multipliers when its model declares none: its own lr multiplier and decay flag. */
export function defaultParameterGroup(entry: ParameterEntry): ParameterGroup {
  return { lrMultiplier: entry.lrMultiplier, decayMultiplier: entry.weightDecay ? 1 : 0 };
}

/** Chooses each parameter's multipliers by name (a model definition's `parameterGroup`). */
export type ParameterGroupOf = (entry: ParameterEntry) => ParameterGroup;

export interface Slot {
  entry: ParameterEntry;
  group: ParameterGroup;
  first: tf.Variable;
  second: tf.Variable | null;
}

const OPTIMIZERS = ['sgd', 'adam', 'rmsprop'] as const;

/** An optimiser's settings with the defaults filled in (an unknown type is a ConfigError). */
export function resolveOptimizerConfig(config: OptimizerConfig): Required<OptimizerConfig> {
  if (!OPTIMIZERS.includes(config.type))
    throw new ConfigError(`unknown optimizer '${config.type as string}'; use ${OPTIMIZERS.join(', ')}`);
  return {
    type: config.type,
    momentum: config.momentum ?? 0.9,
    weightDecay: config.weightDecay ?? 5e-4,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    epsilon: config.epsilon ?? 1e-8,
    alpha: config.alpha ?? 0.99,
  };
}

/** The trainable parameters with their multipliers (negative ones are a ConfigError). */
export function parameterGroups(
  parameters: readonly ParameterEntry[],
  groupOf: ParameterGroupOf = defaultParameterGroup,
): Array<{ entry: ParameterEntry; group: ParameterGroup }> {
  return parameters
    .filter((p) => p.trainable)
    .map((entry) => {
      const group = groupOf(entry);
      if (!(group.lrMultiplier >= 0 && group.decayMultiplier >= 0))
        throw new ConfigError(
          `parameter ${entry.name}: multipliers must be >= 0 (lr ${group.lrMultiplier}, decay ${group.decayMultiplier})`,
        );
      return { entry, group };
    });
}

/**
 * SGD with momentum, Adam and RMSprop over a model's named parameters, each parameter with its
 * group's learning-rate and decay multipliers (Caffe's lr_mult and decay_mult: biases x2 and
 * undecayed, DeepLab's classifier x10/x20). SGD follows Caffe's update, which the reference
 * solvers' learning rates assume: v = momentum * v + lr * lr_mult * (g + decay * decay_mult * w);
 * w -= v. Adam and RMSprop are PyTorch's (RMSprop without momentum, not centred) with the L2 decay
 * added to the gradient.
 */
export class ParameterOptimizer {
  readonly config: Required<OptimizerConfig>;
  protected readonly slots: Slot[];
  /** Updates applied so far (Adam's bias correction). */
  iterations = 0;

  constructor(
    parameters: readonly ParameterEntry[],
    config: OptimizerConfig,
    groupOf: ParameterGroupOf = defaultParameterGroup,
  ) {
    this.config = resolveOptimizerConfig(config);
    this.slots = parameterGroups(parameters, groupOf).map(({ entry, group }) => {
      // In a tidy: the zeros a variable starts from would otherwise outlive the optimiser.
      const slot = () => tf.tidy(() => tf.variable(tf.zerosLike(entry.variable), false));
      return { entry, group, first: slot(), second: config.type === 'adam' ? slot() : null };
    });
  }

  /** Each trainable parameter's multipliers, by name (for the recipe a run prints). */
  groups(): Array<{ name: string } & ParameterGroup> {
    return this.slots.map((s) => ({ name: s.entry.name, ...s.group }));
  }

  /** The trainable variables, in a fixed order. */
  variables(): tf.Variable[] {
    return this.slots.map((s) => s.entry.variable);
  }

  /** Applies one update from gradients keyed by variable name (what tf.variableGrads returns). */
  apply(gradients: tf.NamedTensorMap, lr: number): void {
    const { type, momentum, weightDecay, beta1, beta2, epsilon, alpha } = this.config;
    this.iterations++;
    const t = this.iterations;
    tf.tidy(() => {
      for (const slot of this.slots) {
        const w = slot.entry.variable;
        const g = gradients[w.name];
        if (!g) continue;
        const decay = weightDecay * slot.group.decayMultiplier;
        const grad = decay > 0 ? tf.add(g, tf.mul(w, decay)) : g;
        const rate = lr * slot.group.lrMultiplier;
        if (type === 'sgd') {
          const v = tf.add(tf.mul(slot.first, momentum), tf.mul(grad, rate));
          slot.first.assign(v);
          w.assign(tf.sub(w, v));
        } else if (type === 'rmsprop') {
          const squareAvg = tf.add(tf.mul(slot.first, alpha), tf.mul(tf.square(grad), 1 - alpha));
          slot.first.assign(squareAvg);
          w.assign(tf.sub(w, tf.mul(tf.div(grad, tf.add(tf.sqrt(squareAvg), epsilon)), rate)));
        } else {
          const m = tf.add(tf.mul(slot.first, beta1), tf.mul(grad, 1 - beta1));
          const v = tf.add(tf.mul(slot.second!, beta2), tf.mul(tf.square(grad), 1 - beta2));
          slot.first.assign(m);
          slot.second!.assign(v);
          const mHat = tf.div(m, 1 - beta1 ** t);
          const vHat = tf.div(v, 1 - beta2 ** t);
          w.assign(tf.sub(w, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon)), rate)));
        }
      }
    });
  }

  /** Slot tensors by `<parameter>.<slot>` for a checkpoint (the variables themselves: do not dispose). */
  state(): StateDict {
    const out: StateDict = {};
    for (const slot of this.slots) {
      const name = slot.entry.name;
      if (this.config.type === 'sgd') out[`${name}.momentum`] = slot.first;
      else if (this.config.type === 'rmsprop') out[`${name}.square_avg`] = slot.first;
      else {
        out[`${name}.m`] = slot.first;
        out[`${name}.v`] = slot.second!;
      }
    }
    return out;
  }

  /** Restores slots saved by `state()`; every slot must be present with the right shape. */
  loadState(state: StateDict, iterations: number, source = 'checkpoint'): void {
    const own = this.state();
    const missing = Object.keys(own).filter((n) => !(n in state));
    if (missing.length > 0) {
      throw new ConfigError(
        `${source}: optimizer state lacks ${missing.length} slot(s) (${missing.slice(0, 3).join(', ')}...); was it saved with --optimizer ${this.config.type}?`,
      );
    }
    for (const [name, variable] of Object.entries(own)) {
      const saved = state[name]!;
      if (saved.shape.join() !== variable.shape.join())
        throw new ConfigError(
          `${source}: optimizer slot ${name} has shape [${saved.shape}], expected [${variable.shape}]`,
        );
      (variable as tf.Variable).assign(saved);
    }
    this.iterations = iterations;
  }

  dispose(): void {
    for (const slot of this.slots) {
      slot.first.dispose();
      slot.second?.dispose();
    }
  }
}
