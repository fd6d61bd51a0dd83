import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EnsembleModel,
  RAW_PIXELS,
  averagePredictions,
  predictEnsembleAsync,
  predictImageAsync,
  predictWithProposals,
} from '../src/index.js';
import { PLAIN, PixelModel, randomImage } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ensemble (EDeconvNet)', () => {
  it('is the per-pixel mean of its members, each with its own normalisation', async () => {
    const rng = new Rng(4);
    const image = randomImage(9, 7, rng);
    const a = new PixelModel(4, new Rng(1));
    const b = new PixelModel(4, new Rng(2));
    const c = new PixelModel(4, new Rng(3));
    const shifted = { ...PLAIN, mean: [30, 60, 90] as [number, number, number] };
    const members = [
      { model: a, normalization: PLAIN },
      { model: b, normalization: shifted },
      { model: c, normalization: PLAIN },
    ];
    const baseline = tf.memory().numTensors;
    const ensemble = await predictEnsembleAsync(members, image, { scales: [1, 0.5], flip: true });
    expect(tf.memory().numTensors).toBe(baseline);
    const singles = await Promise.all(
      members.map((m) =>
        predictImageAsync(m.model, image, { normalization: m.normalization, scales: [1, 0.5], flip: true }),
      ),
    );
    for (let i = 0; i < ensemble.probabilities.length; i++) {
      const mean =
        (singles[0]!.probabilities[i]! + singles[1]!.probabilities[i]! + singles[2]!.probabilities[i]!) / 3;
      expect(ensemble.probabilities[i]).toBeCloseTo(mean, 6);
    }
    // Labels are the argmax of the mean, not a vote.
    for (let p = 0; p < 9 * 7; p++) {
      const row = Array.from(ensemble.probabilities.subarray(p * 4, p * 4 + 4));
      expect(ensemble.labels[p]).toBe(row.indexOf(Math.max(...row)));
    }
    for (const m of [a, b, c]) m.dispose();
  });

  it('as one model (raw pixels in, log mean probabilities out) gives the same mean in every inference path', async () => {
    const image = randomImage(12, 10, new Rng(8));
    const shifted = {
      ...PLAIN,
      mean: [30, 60, 90] as [number, number, number],
      channelOrder: 'bgr' as const,
    };
    const members = [
      { model: new PixelModel(3, new Rng(1)), normalization: PLAIN },
      { model: new PixelModel(3, new Rng(2)), normalization: shifted },
    ];
    const model = new EnsembleModel(members);
    model.eval();
    const options = { scales: [1, 0.75], flip: true };
    const baseline = tf.memory().numTensors;
    const direct = await predictImageAsync(model, image, { ...options, normalization: RAW_PIXELS });
    expect(tf.memory().numTensors).toBe(baseline);
    const mean = await predictEnsembleAsync(members, image, options);
    direct.probabilities.forEach((v, i) => expect(v).toBeCloseTo(mean.probabilities[i]!, 5));
    // Proposal-wise inference takes it like any model.
    const proposals = await predictWithProposals(
      model,
      image,
      { normalization: RAW_PIXELS },
      { boxes: [{ x0: 1, y0: 1, x1: 6, y1: 7 }] },
    );
    expect(proposals.probabilities.length).toBe(12 * 10 * 3);
    expect(model.numParameters()).toBe(2 * 3 * 3);
    model.dispose();
  });

  it('refuses members that disagree in classes or size, with a one-line reason', async () => {
    const image = randomImage(4, 4, new Rng(0));
    const a = new PixelModel(3, new Rng(1));
    const b = new PixelModel(5, new Rng(2));
    await expect(
      predictEnsembleAsync(
        [
          { model: a, normalization: PLAIN },
          { model: b, normalization: PLAIN },
        ],
        image,
        {},
      ),
    ).rejects.toThrow(/same classes: 3 against 5/);
    const one = await predictImageAsync(a, image, { normalization: PLAIN });
    const other = await predictImageAsync(a, randomImage(5, 4, new Rng(1)), { normalization: PLAIN });
    expect(() => averagePredictions([one, other])).toThrow(/disagree: 5x4/);
    expect(() => averagePredictions([])).toThrow(/at least one/);
    a.dispose();
    b.dispose();
  });
});
