import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Module, Rng, StateDictError } from '../src/index.js';

class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(inputs: number, outputs: number) {
    super();
    this.weight = this.registerParameter('weight', tf.ones([inputs, outputs]));
    this.bias = this.registerParameter('bias', tf.zeros([outputs]), { weightDecay: false });
  }
}

class Norm extends Module {
  readonly runningMean: tf.Variable;
  constructor(channels: number) {
    super();
    this.registerParameter('gamma', tf.ones([channels]), { weightDecay: false });
    this.runningMean = this.registerBuffer('runningMean', tf.zeros([channels]));
  }
}

class Net extends Module {
  readonly encoder: Linear;
  readonly norm: Norm;
  readonly head: Linear;
  constructor() {
    super();
    this.encoder = this.registerModule('encoder', new Linear(3, 4));
    this.norm = this.registerModule('norm', new Norm(4));
    this.head = this.registerModule('head', new Linear(4, 2));
    this.head.setTrainable(true);
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Module', () => {
  it('names parameters and buffers by dotted path', () => {
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual([
      'encoder.weight',
      'encoder.bias',
      'norm.gamma',
      'norm.runningMean',
      'head.weight',
      'head.bias',
    ]);
    expect(net.namedParameters().map((p) => p.name)).not.toContain('norm.runningMean');
    expect(net.namedParameters().find((p) => p.name === 'encoder.bias')?.weightDecay).toBe(false);
    expect(net.numParameters()).toBe(12 + 4 + 4 + 8 + 2);
    expect(net.getModule('norm')).toBe(net.norm);
    net.dispose();
  });

  it('propagates train/eval to every descendant', () => {
    const net = new Net();
    expect(net.norm.training).toBe(true);
    net.eval();
    expect(net.training).toBe(false);
    expect(net.norm.training).toBe(false);
    expect(net.head.training).toBe(false);
    net.train();
    expect(net.encoder.training).toBe(true);
    net.dispose();
  });

  it('freezes by prefix and lists only trainable variables', () => {
    const net = new Net();
    expect(net.parameters()).toHaveLength(5);
    net.setTrainable(false, 'encoder.');
    expect(net.parameters()).toHaveLength(3);
    expect(net.encoder.weight.trainable).toBe(false);
    expect(net.numParameters(true)).toBe(4 + 8 + 2);
    net.dispose();
  });

  it('rejects bad and duplicate names', () => {
    class Bad extends Module {
      constructor(name: string) {
        super();
        this.registerParameter(name, tf.zeros([1]));
        this.registerParameter('w', tf.zeros([1]));
      }
    }
    expect(() => new Bad('a.b')).toThrow(/not a valid name/);
    expect(() => new Bad('w')).toThrow(/already registered/);
  });

  it('loads a state dict by name and copies the values', () => {
    const a = new Net();
    const b = new Net();
    a.encoder.weight.assign(tf.fill([3, 4], 2));
    b.loadStateDict(a.stateDict());
    expect(Array.from(b.encoder.weight.dataSync())).toEqual(new Array(12).fill(2));
    a.encoder.weight.assign(tf.fill([3, 4], 3));
    expect(b.encoder.weight.dataSync()[0]).toBe(2);
    a.dispose();
    b.dispose();
  });

  it('names every missing, unexpected and mis-shaped tensor', () => {
    const net = new Net();
    const dict = {
      'encoder.weight': tf.zeros([3, 5]),
      'encoder.bias': tf.zeros([4]),
      'norm.gamma': tf.zeros([4]),
      'head.weight': tf.zeros([4, 2]),
      'head.bias': tf.zeros([3]),
      'extra.weight': tf.zeros([1]),
    };
    let error: unknown;
    try {
      net.loadStateDict(dict, { source: 'ckpt/model.json' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    const err = error as StateDictError;
    expect(err.missing).toEqual(['norm.runningMean']);
    expect(err.unexpected).toEqual(['extra.weight']);
    expect(err.mismatched.map((m) => m.name)).toEqual(['encoder.weight', 'head.bias']);
    expect(err.message).toMatch(/^ckpt\/model\.json: /);
    expect(err.message).toContain('encoder.weight (expected [3,4], got [3,5])');
    // Nothing was changed by the failed load.
    expect(net.encoder.bias.dataSync()[0]).toBe(0);
    expect(net.stateDict()['norm.gamma']!.dataSync()[0]).toBe(1);
    tf.dispose(Object.values(dict));
    net.dispose();
  });

  it('non-strict loading skips missing and unexpected names but not wrong shapes', () => {
    const net = new Net();
    const partial = { 'head.bias': tf.tensor1d([5, 6]), 'other.x': tf.zeros([2]) };
    const result = net.loadStateDict(partial, { strict: false });
    expect(result.unexpected).toEqual(['other.x']);
    expect(result.missing).toHaveLength(5);
    expect(Array.from(net.head.bias.dataSync())).toEqual([5, 6]);
    const wrong = { 'head.bias': tf.zeros([7]) };
    expect(() => net.loadStateDict(wrong, { strict: false })).toThrow(
      /head\.bias \(expected \[2\], got \[7\]\)/,
    );
    tf.dispose([...Object.values(partial), ...Object.values(wrong)]);
    net.dispose();
  });

  it('leaks no tensors across construction, loading and disposal', () => {
    const baseline = tf.memory().numTensors;
    const a = new Net();
    const b = new Net();
    b.loadStateDict(a.stateDict());
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe('Module random generators', () => {
  class Noisy extends Module {
    readonly rng: Rng;
    constructor(seed: number) {
      super();
      this.rng = this.registerGenerator('rng', new Rng(seed));
    }
  }
  class Outer extends Module {
    readonly a: Noisy;
    readonly b: Noisy;
    constructor() {
      super();
      this.a = this.registerModule('a', new Noisy(1));
      this.b = this.registerModule('b', new Noisy(2));
    }
  }

  it('saves and restores every generator by dotted name', () => {
    const net = new Outer();
    net.a.rng.next();
    const saved = JSON.parse(JSON.stringify(net.generatorStates()));
    expect(Object.keys(saved)).toEqual(['a.rng', 'b.rng']);
    const expected = [net.a.rng.next(), net.b.rng.next()];
    const other = new Outer();
    other.loadGeneratorStates(saved);
    expect([other.a.rng.next(), other.b.rng.next()]).toEqual(expected);
    expect(() => other.loadGeneratorStates({ 'a.rng': saved['a.rng'] }, 'ckpt')).toThrow(
      /ckpt: random generator states do not match the model \(missing: b\.rng; unexpected: none\)/,
    );
  });
});
