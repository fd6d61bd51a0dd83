// The replicas' in-place optimiser update against ParameterOptimizer.apply: bit-identical weights
// and slots for SGD (with and without decay), RMSprop and Adam, on the cpu and wasm backends, over
// a few consecutive steps with changing learning rates; and the WebAssembly SIMD kernel against the
// JavaScript loops, bit for bit.
import { Rng } from '@semseg/core';
import { useNodeBackend } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type FusedOptimizer, fusedUpdate } from '../src/node/parallel/fused-update.js';
import { allocateShared } from '../src/node/parallel/shared-memory.js';
import { UpdateKernel } from '../src/node/parallel/update-kernel.js';
import { ParameterOptimizer } from '../src/train/optimizer.js';

const SIZE = 4099;
const CONFIGS = [
  { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
  { type: 'sgd', momentum: 0.99, weightDecay: 0 },
  { type: 'rmsprop', weightDecay: 1e-4, alpha: 0.99, epsilon: 1e-8 },
  { type: 'adam', weightDecay: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
] as const;
const GROUPS = [
  { lrMultiplier: 1, decayMultiplier: 1 },
  { lrMultiplier: 2, decayMultiplier: 0 },
  { lrMultiplier: 10, decayMultiplier: 1 },
];

/** Plain SGD (no weight decay) with this momentum, as the fused update takes it. */
const sgd = (momentum: number) =>
  ({ type: 'sgd', momentum, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, alpha: 0.99 }) as const;

describe.each(['cpu', 'wasm'] as const)('fusedUpdate on %s', (backend) => {
  it.each(CONFIGS)(
    'equals ParameterOptimizer.apply bit for bit: $type, decay $weightDecay',
    async (config) => {
      await useNodeBackend(backend);
      const rng = new Rng(5);
      const start = GROUPS.map(() => rng.fillNormal(new Float32Array(SIZE)));
      const variables = start.map((w, i) => tf.variable(tf.tensor1d(w), true, `p${i}`));
      const entries = variables.map((variable, i) => ({
        name: `p${i}`,
        variable,
        trainable: true,
        lrMultiplier: 1,
        weightDecay: true,
      }));
      const optimizer = new ParameterOptimizer(
        entries as never,
        config,
        (e) => GROUPS[Number(e.name.slice(1))]!,
      );
      const filled = { momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, alpha: 0.99, ...config };
      const weights = start.map((w) => w.slice());
      const first = start.map(() => new Float32Array(SIZE));
      const second = start.map(() => new Float32Array(SIZE));
      try {
        for (const [step, lr] of [0.01, 0.007, 0.02].entries()) {
          const grads = GROUPS.map(() => rng.fillNormal(new Float32Array(SIZE)));
          const named: tf.NamedTensorMap = {};
          grads.forEach((g, i) => {
            named[variables[i]!.name] = tf.tensor1d(g);
          });
          optimizer.apply(named, lr);
          tf.dispose(Object.values(named));
          GROUPS.forEach((group, i) => {
            fusedUpdate(filled, group, lr, step + 1, {
              weights: weights[i]!,
              // The gradient as two shards that sum to it exactly (halves of a float32 value).
              gradients: [grads[i]!.map((v) => v / 2), grads[i]!.map((v) => v / 2)],
              first: first[i]!,
              second: config.type === 'adam' ? second[i]! : null,
              from: 0,
              to: SIZE,
            });
          });
          const slots = optimizer.state();
          GROUPS.forEach((_, i) => {
            expect(variables[i]!.dataSync()).toEqual(weights[i]);
            const firstName =
              config.type === 'sgd' ? 'momentum' : config.type === 'rmsprop' ? 'square_avg' : 'm';
            expect(slots[`p${i}.${firstName}`]!.dataSync()).toEqual(first[i]);
            if (config.type === 'adam') expect(slots[`p${i}.v`]!.dataSync()).toEqual(second[i]);
          });
        }
        // The weights moved: the comparison above was not of untouched arrays.
        expect(weights[0]).not.toEqual(start[0]);
      } finally {
        optimizer.dispose();
        tf.dispose(variables);
      }
    },
  );

  it('updates only [from, to)', () => {
    const w = Float32Array.of(1, 2, 3, 4);
    const g = Float32Array.of(1, 1, 1, 1);
    const m = new Float32Array(4);
    const config = sgd(0.9);
    fusedUpdate(config, GROUPS[0]!, 0.5, 1, {
      weights: w,
      gradients: [g],
      first: m,
      second: null,
      from: 1,
      to: 3,
    });
    expect([...w]).toEqual([1, 1.5, 2.5, 4]);
    expect([...m]).toEqual([0, 0.5, 0.5, 0]);
  });

  it('sums any number of shards in shard order, rounding to float32 after each addition', () => {
    const config = sgd(0);
    // 1 + 2^-24 + 2^-24: in order, each addition rounds back to 1; summed first, the two halves make 2^-23.
    const tiny = 2 ** -24;
    const shards = [Float32Array.of(1, 0, 3), Float32Array.of(tiny, 0, 1), Float32Array.of(tiny, 0, 2)];
    const w = new Float32Array(3);
    fusedUpdate(config, GROUPS[0]!, 1, 1, {
      weights: w,
      gradients: shards,
      first: new Float32Array(3),
      second: null,
      from: 0,
      to: 3,
    });
    expect([...w]).toEqual([-1, 0, -6]);
    // A later call on a shorter slice reuses the scratch sum without reading stale elements.
    const v = new Float32Array(3);
    fusedUpdate(config, GROUPS[0]!, 1, 1, {
      weights: v,
      gradients: shards,
      first: new Float32Array(3),
      second: null,
      from: 2,
      to: 3,
    });
    expect([...v]).toEqual([0, 0, -6]);
  });

  it('multiplies the summed gradient by `scale` (one float32 rounding), one shard or several', () => {
    const config = sgd(0);
    const w = new Float32Array(2);
    fusedUpdate(config, GROUPS[0]!, 1, 1, {
      weights: w,
      gradients: [Float32Array.of(3, 1), Float32Array.of(1, 2)],
      first: new Float32Array(2),
      second: null,
      from: 0,
      to: 2,
      scale: 0.5,
    });
    expect([...w]).toEqual([-2, -1.5]);
    const one = Float32Array.of(3, 0.1);
    const v = new Float32Array(2);
    fusedUpdate(config, GROUPS[0]!, 1, 1, {
      weights: v,
      gradients: [one],
      first: new Float32Array(2),
      second: null,
      from: 0,
      to: 2,
      scale: 1 / 3,
    });
    expect([...v]).toEqual([
      -Math.fround(3 * Math.fround(1 / 3)),
      -Math.fround(Math.fround(0.1) * Math.fround(1 / 3)),
    ]);
    // The shard's own gradient is not scaled in place.
    expect([...one]).toEqual([3, Math.fround(0.1)]);
  });
});

describe('UpdateKernel (WebAssembly SIMD over one shared memory)', () => {
  const FILLED = { momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, alpha: 0.99 };
  // Lengths with a tail of 0-3 elements past the last group of four, and an offset slice.
  const SLICES = [
    { count: 4099, lo: 0 },
    { count: 8, lo: 0 },
    { count: 3, lo: 0 },
    { count: 1001, lo: 5 },
  ];

  it.each(CONFIGS)("gives the JavaScript loops' bits: $type, decay $weightDecay", (config) => {
    const filled = { ...FILLED, ...config } as FusedOptimizer;
    const rng = new Rng(11);
    for (const shards of [1, 2, 3]) {
      for (const { count, lo } of SLICES) {
        const size = count + lo;
        const store = allocateShared(
          { state: size * 4, gradients: size * 4, replicas: shards, slots: 2 * size * 4 },
          'memory',
        );
        const kernel = new UpdateKernel(store.memory!);
        const f32 = (region: { buffer: SharedArrayBuffer; byteOffset: number }, base = 0) =>
          new Float32Array(region.buffer, region.byteOffset + base * 4, size);
        const weights = f32(store.state);
        const first = f32(store.slots);
        const second = f32(store.slots, size);
        weights.set(rng.fillNormal(new Float32Array(size)));
        // Slots start positive (RMSprop's and Adam's second moments are squares).
        first.set(rng.fillNormal(new Float32Array(size)).map((v) => (config.type === 'sgd' ? v : v * v)));
        second.set(rng.fillNormal(new Float32Array(size)).map((v) => v * v));
        const gradients = store.gradients.map((region) => f32(region));
        const plain = {
          weights: weights.slice(),
          first: first.slice(),
          second: second.slice(),
        };
        for (const [step, lr] of [0.01, 0.003].entries()) {
          // Shard values of very different sizes, so that the order of the sum shows in the bits.
          for (const [k, g] of gradients.entries())
            g.set(rng.fillNormal(new Float32Array(size)).map((v) => v * 10 ** (2 - 3 * k)));
          // The second step divides the summed gradient, as a deferred 'mean' loss does.
          const scale = step === 0 ? undefined : 1 / 37;
          for (const group of GROUPS) {
            kernel.apply(filled, group, lr, step + 1, {
              ...(scale ? { scale } : {}),
              weights: store.state.byteOffset + lo * 4,
              gradients: store.gradients[0]!.byteOffset + lo * 4,
              gradientStride: store.gradientStride,
              shards,
              first: store.slots.byteOffset + lo * 4,
              second: store.slots.byteOffset + (size + lo) * 4,
              count,
            });
            fusedUpdate(filled, group, lr, step + 1, {
              ...(scale ? { scale } : {}),
              weights: plain.weights,
              gradients,
              first: plain.first,
              second: config.type === 'adam' ? plain.second : null,
              from: lo,
              to: size,
            });
          }
          const where = `${shards} shards, ${count} elements from ${lo}, step ${step + 1}`;
          expect(Buffer.from(weights.buffer, weights.byteOffset, size * 4), where).toEqual(
            Buffer.from(plain.weights.buffer),
          );
          expect(Buffer.from(first.buffer, first.byteOffset, size * 4), where).toEqual(
            Buffer.from(plain.first.buffer),
          );
          if (config.type === 'adam')
            expect(Buffer.from(second.buffer, second.byteOffset, size * 4), where).toEqual(
              Buffer.from(plain.second.buffer),
            );
        }
        // Elements before the slice were not touched.
        if (lo > 0) expect(weights.subarray(0, lo)).toEqual(plain.weights.subarray(0, lo));
      }
    }
  });

  it('places every array in one memory, 16-byte aligned, gradients at a fixed stride; or in buffers', () => {
    const sizes = { state: 40, gradients: 36, replicas: 3, slots: 80 };
    const store = allocateShared(sizes);
    expect(store.memory).not.toBeNull();
    const regions = [store.state, ...store.gradients, store.slots];
    for (const region of regions) {
      expect(region.buffer).toBe(store.memory!.buffer);
      expect(region.byteOffset % 16).toBe(0);
    }
    expect(store.gradientStride).toBe(48);
    expect(store.gradients.map((g) => g.byteOffset)).toEqual([48, 96, 144]);
    expect(store.slots.byteOffset).toBe(192);
    const separate = allocateShared(sizes, 'buffers');
    expect(separate.memory).toBeNull();
    expect(new Set([separate.state, ...separate.gradients, separate.slots].map((r) => r.buffer)).size).toBe(
      5,
    );
  });
});
