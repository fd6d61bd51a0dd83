import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { maxAbs, maxAbsDiff } from './helpers/numeric.js';
import { TinyNet, tinyBatch } from './helpers/tiny-net.js';

async function lossAndGradients(backend: string) {
  await useBackend(backend);
  const net = new TinyNet(1);
  const { x, labels } = tinyBatch(2);
  const { value, grads } = tf.variableGrads(() => net.loss(x, labels), net.parameters());
  const byName: Record<string, Float32Array> = {};
  for (const p of net.namedParameters())
    byName[p.name] = Float32Array.from(await grads[p.variable.name]!.data());
  const loss = (await value.data())[0]!;
  tf.dispose([x, value, ...Object.values(grads)]);
  net.dispose();
  return { loss, byName };
}

describe('a model of every layer', () => {
  it('gives the same loss and gradients on cpu and wasm', async () => {
    const [cpu, wasm] = [await lossAndGradients(BACKENDS[0]), await lossAndGradients(BACKENDS[1])];
    expect(Math.abs(cpu.loss - wasm.loss)).toBeLessThan(1e-5 * Math.max(1, cpu.loss));
    expect(Object.keys(wasm.byName)).toEqual(Object.keys(cpu.byName));
    expect(Object.keys(cpu.byName).length).toBe(14);
    for (const name of Object.keys(cpu.byName)) {
      const a = cpu.byName[name]!;
      const b = wasm.byName[name]!;
      // A bias right before batch norm has a zero gradient in exact arithmetic (BN removes the
      // shift): only rounding noise is left there, so compare on an absolute floor.
      if (name !== 'conv1.bias') expect(maxAbs(a), `${name} has a gradient`).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(a, b) / Math.max(maxAbs(a), 1e-3), name).toBeLessThan(1e-4);
    }
  });

  it.each(BACKENDS)('trains on %s without leaking tensors', async (backend) => {
    await useBackend(backend);
    const net = new TinyNet(3);
    const { x, labels } = tinyBatch(4);
    const optimizer = tf.train.sgd(0.05);
    const losses: number[] = [];
    let baseline = -1;
    for (let step = 0; step < 6; step++) {
      if (step === 1) baseline = tf.memory().numTensors;
      const loss = optimizer.minimize(() => net.loss(x, labels), true, net.parameters())!;
      losses.push((await loss.data())[0]!);
      loss.dispose();
    }
    expect(tf.memory().numTensors).toBe(baseline);
    expect(losses[5]).toBeLessThan(losses[0]!);
    optimizer.dispose();
    x.dispose();
    net.dispose();
  });
});
