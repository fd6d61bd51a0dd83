import * as tf from '@tensorflow/tfjs-core';
import { SemsegError, type ShapeMismatch, StateDictError } from './errors.js';
import type { Rng, RngState } from './rng.js';

/** How the optimiser treats a parameter. */
export interface ParameterOptions {
  /** Updated by the optimiser (default true). Frozen parameters stay in the state dict. */
  trainable?: boolean;
  /** Subject to weight decay (default true; biases and batch-norm parameters set false, as the references). */
  weightDecay?: boolean;
  /** Learning-rate multiplier (Caffe's lr_mult: DeepLab trains its classifier at 10x). Default 1. */
  lrMultiplier?: number;
}

/** A named parameter with its optimiser settings. */
export interface ParameterEntry {
  name: string;
  variable: tf.Variable;
  trainable: boolean;
  weightDecay: boolean;
  lrMultiplier: number;
}

/** Tensors by dotted name, e.g. `backbone.conv1_1.weight`. */
export type StateDict = Record<string, tf.Tensor>;

export interface LoadStateDictOptions {
  /** Missing and unexpected names are errors (default true). Wrong shapes are always errors. */
  strict?: boolean;
  /** Names the source (a checkpoint file) in error messages. */
  source?: string;
}

export interface LoadStateDictResult {
  missing: string[];
  unexpected: string[];
}

// Identifiers, or PyTorch-style indices for Sequential children (`features.0.weight`).
const LOCAL_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)$/;

interface LocalParameter extends Omit<ParameterEntry, 'name'> {
  buffer: boolean;
}

/**
 * A node of the model tree: named parameters, buffers (state that is saved but not trained, such
 * as batch norm's running statistics) and child modules. Names join with dots into the stable
 * paths that checkpoints and weight import use.
 */
export class Module {
  private readonly ownParameters = new Map<string, LocalParameter>();
  private readonly ownChildren = new Map<string, Module>();
  private readonly ownGenerators = new Map<string, Rng>();
  private isTraining = true;

  /** True in training mode (dropout active, batch norm uses batch statistics). */
  get training(): boolean {
    return this.isTraining;
  }

  /** Switches this module and every descendant to training (true) or evaluation (false) mode. */
  train(mode = true): this {
    this.isTraining = mode;
    for (const child of this.ownChildren.values()) child.train(mode);
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  protected registerParameter(name: string, value: tf.Tensor, options: ParameterOptions = {}): tf.Variable {
    return this.addLocal(name, value, options, false);
  }

  /** State that is saved and loaded but never trained (e.g. running mean/variance). */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    return this.addLocal(name, value, { trainable: false, weightDecay: false }, true);
  }

  /**
   * A random generator the module draws from while running (dropout masks). Its state is part of
   * a training checkpoint, so that a resumed run draws exactly what an uninterrupted one would.
   */
  protected registerGenerator(name: string, rng: Rng): Rng {
    if (this.ownGenerators.has(name))
      throw new SemsegError('E_MODULE', `generator '${name}' is already registered`);
    this.ownGenerators.set(name, rng);
    return rng;
  }

  /** States of every registered generator by dotted name (`backbone.drop6.rng`). */
  generatorStates(prefix = ''): Record<string, RngState> {
    const out: Record<string, RngState> = {};
    for (const [name, rng] of this.ownGenerators) out[prefix + name] = rng.getState();
    for (const [name, child] of this.ownChildren)
      Object.assign(out, child.generatorStates(`${prefix}${name}.`));
    return out;
  }

  /** Restores generator states saved by `generatorStates()`; names must match exactly. */
  loadGeneratorStates(states: Record<string, RngState>, source?: string): void {
    const own = this.generatorTable('');
    const missing = [...own.keys()].filter((n) => !(n in states));
    const unexpected = Object.keys(states).filter((n) => !own.has(n));
    if (missing.length > 0 || unexpected.length > 0) {
      const prefix = source ? `${source}: ` : '';
      throw new SemsegError(
        'E_MODULE',
        `${prefix}random generator states do not match the model (missing: ${missing.join(', ') || 'none'}; unexpected: ${unexpected.join(', ') || 'none'})`,
      );
    }
    for (const [name, rng] of own) rng.setState(states[name]!);
  }

  private generatorTable(prefix: string): Map<string, Rng> {
    const table = new Map<string, Rng>();
    for (const [name, rng] of this.ownGenerators) table.set(prefix + name, rng);
    for (const [name, child] of this.ownChildren)
      for (const [n, r] of child.generatorTable(`${prefix}${name}.`)) table.set(n, r);
    return table;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.ownChildren.set(name, module);
    module.train(this.isTraining);
    return module;
  }

  private addLocal(name: string, value: tf.Tensor, options: ParameterOptions, buffer: boolean): tf.Variable {
    this.checkName(name);
    if (value.dtype !== 'float32') {
      throw new SemsegError('E_MODULE', `parameter '${name}' must be float32, got ${value.dtype}`);
    }
    const trainable = options.trainable ?? true;
    const variable = tf.variable(value, trainable && !buffer);
    value.dispose();
    this.ownParameters.set(name, {
      variable,
      trainable: trainable && !buffer,
      weightDecay: options.weightDecay ?? true,
      lrMultiplier: options.lrMultiplier ?? 1,
      buffer,
    });
    return variable;
  }

  private checkName(name: string): void {
    if (!LOCAL_NAME.test(name)) {
      throw new SemsegError(
        'E_MODULE',
        `'${name}' is not a valid name: use letters, digits and '_', or an index`,
      );
    }
    if (this.ownParameters.has(name) || this.ownChildren.has(name)) {
      throw new SemsegError('E_MODULE', `'${name}' is already registered in this module`);
    }
  }

  /** Direct children by name. */
  children(): Array<[string, Module]> {
    return [...this.ownChildren.entries()];
  }

  /** A descendant by dotted path, or undefined. */
  getModule(path: string): Module | undefined {
    let current: Module | undefined = this;
    for (const part of path.split('.')) {
      current = current?.ownChildren.get(part);
    }
    return current;
  }

  /** Every parameter and buffer with its dotted name, in registration order (depth first). */
  namedEntries(prefix = ''): Array<ParameterEntry & { buffer: boolean }> {
    const out: Array<ParameterEntry & { buffer: boolean }> = [];
    for (const [name, p] of this.ownParameters) out.push({ name: prefix + name, ...p });
    for (const [name, child] of this.ownChildren) out.push(...child.namedEntries(`${prefix}${name}.`));
    return out;
  }

  /** Parameters (not buffers) with their optimiser settings. */
  namedParameters(): ParameterEntry[] {
    return this.namedEntries()
      .filter((e) => !e.buffer)
      .map(({ buffer: _buffer, ...entry }) => entry);
  }

  /** The trainable variables, for an optimiser. */
  parameters(): tf.Variable[] {
    return this.namedParameters()
      .filter((p) => p.trainable)
      .map((p) => p.variable);
  }

  /** Number of scalars in parameters (buffers excluded); `trainableOnly` counts trainable ones. */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.namedParameters()) if (!trainableOnly || p.trainable) n += p.variable.size;
    return n;
  }

  /** Freezes (or unfreezes) every parameter whose dotted name starts with `prefix`. */
  setTrainable(trainable: boolean, prefix = ''): this {
    this.visitLocals('', (name, p) => {
      if (p.buffer || !name.startsWith(prefix)) return;
      p.trainable = trainable;
      p.variable.trainable = trainable;
    });
    return this;
  }

  private visitLocals(prefix: string, fn: (name: string, p: LocalParameter) => void): void {
    for (const [name, p] of this.ownParameters) fn(prefix + name, p);
    for (const [name, child] of this.ownChildren) child.visitLocals(`${prefix}${name}.`, fn);
  }

  /**
   * Parameters and buffers by dotted name. The tensors are the module's own variables: read them,
   * do not dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const e of this.namedEntries()) out[e.name] = e.variable;
    return out;
  }

  /**
   * Copies tensors into the module's variables by name. Checks everything before changing
   * anything, and reports every missing, unexpected and mis-shaped tensor at once.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries = new Map(this.namedEntries().map((e) => [e.name, e]));
    const missing = [...entries.keys()].filter((name) => !(name in dict));
    const unexpected = Object.keys(dict).filter((name) => !entries.has(name));
    const mismatched: ShapeMismatch[] = [];
    for (const [name, tensor] of Object.entries(dict)) {
      const entry = entries.get(name);
      if (entry && !sameShape(entry.variable.shape, tensor.shape)) {
        mismatched.push({ name, expected: entry.variable.shape, actual: tensor.shape });
      }
    }
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      throw new StateDictError(missing, strict ? unexpected : [], mismatched, options.source);
    }
    for (const [name, tensor] of Object.entries(dict)) {
      const entry = entries.get(name);
      if (!entry) continue;
      if (tensor.dtype === 'float32') {
        entry.variable.assign(tensor);
      } else {
        const cast = tf.cast(tensor, 'float32');
        entry.variable.assign(cast);
        cast.dispose();
      }
    }
    return { missing, unexpected };
  }

  /** Releases every variable of this module and its descendants. */
  dispose(): void {
    for (const p of this.ownParameters.values()) p.variable.dispose();
    for (const child of this.ownChildren.values()) child.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
