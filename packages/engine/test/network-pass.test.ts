import { InputError, Module, Rng, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AsyncForward, predictImage, predictImageAsync, predictWithProposals } from '../src/index.js';
import { PLAIN, TestNet, randomImage } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A 3x3 valid conv: its output loses one pixel each side, so inference takes the overlap-tile route. */
class ValidNet extends Module implements SegmentationModel {
  readonly numClasses = 3;
  readonly weight: tf.Variable;
  constructor(rng: Rng) {
    super();
    this.weight = this.registerParameter(
      'weight',
      tf.tensor4d(rng.fillNormal(new Float32Array(27 * 3), 0, 0.1), [3, 3, 3, 3]),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.weight as tf.Tensor4D, 1, 'valid');
  }
  outputSize([h, w]: [number, number]): [number, number] {
    return [h - 2, w - 2];
  }
}

/**
 * The network pass of `inner` run the way an outside runtime runs it: the batch read back to the
 * host, a turn of the event loop, and the logits uploaded as a new tensor. Its `forward` is not
 * there to be called.
 */
class HostNetwork extends Module implements SegmentationModel, AsyncForward {
  readonly numClasses: number;
  calls = 0;
  failAt = -1;
  constructor(private readonly inner: SegmentationModel) {
    super();
    this.numClasses = inner.numClasses;
    if (inner.outputSize) this.outputSize = (size) => inner.outputSize!(size);
  }
  outputSize?: (size: [number, number]) => [number, number];
  forward(): tf.Tensor4D {
    throw new Error('HostNetwork.forward must not be called');
  }
  async forwardAsync(images: tf.Tensor4D): Promise<tf.Tensor4D> {
    if (this.calls++ === this.failAt) throw new Error('runtime failed');
    const values = (await images.data()) as Float32Array;
    await new Promise((resolve) => setImmediate(resolve));
    return tf.tidy(() => this.inner.forward(tf.tensor4d(values, images.shape)));
  }
}

describe('the network pass behind an async seam (onnxruntime)', () => {
  const rng = new Rng(3);
  const net = new TestNet({ numClasses: 4, hidden: 5, dropout: 0 }, rng);
  net.eval();
  const image = randomImage(37, 29, rng);

  const settings = [
    { name: 'whole', options: { normalization: PLAIN } },
    { name: 'whole, scales and flip', options: { normalization: PLAIN, scales: [0.75, 1, 1.5], flip: true } },
    {
      name: 'sliding windows, scales and flip',
      options: {
        normalization: PLAIN,
        mode: 'slide' as const,
        crop: [16, 20] as const,
        stride: [10, 12] as const,
        batchSize: 3,
        scales: [1, 1.25],
        flip: true,
      },
    },
  ];

  for (const { name, options } of settings) {
    it(`gives the tfjs path's probabilities bit for bit (${name}) and leaks nothing`, async () => {
      const before = tf.memory().numTensors;
      const host = new HostNetwork(net);
      const reference = predictImage(net, image, options);
      const outside = await predictImageAsync(host, image, options);
      expect(host.calls).toBeGreaterThan(0);
      expect(
        Buffer.from(outside.probabilities.buffer).equals(Buffer.from(reference.probabilities.buffer)),
      ).toBe(true);
      expect(outside.labels).toEqual(reference.labels);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('runs the overlap-tile route of valid-padded models through it too', async () => {
    const valid = new ValidNet(new Rng(5));
    const before = tf.memory().numTensors;
    const options = { normalization: PLAIN, mode: 'slide' as const, crop: [20, 20] as const, batchSize: 2 };
    const reference = predictImage(valid, image, options);
    const host = new HostNetwork(valid);
    const outside = await predictImageAsync(host, image, options);
    expect(host.calls).toBeGreaterThan(1);
    expect(Array.from(outside.probabilities)).toEqual(Array.from(reference.probabilities));
    expect(tf.memory().numTensors).toBe(before);
    valid.dispose();
  });

  it('runs proposal-wise inference through it', async () => {
    const before = tf.memory().numTensors;
    const boxes = [{ x0: 3, y0: 4, x1: 20, y1: 25 }];
    const options = { normalization: PLAIN };
    const reference = await predictWithProposals(net, image, options, { boxes, inputSize: [24, 24] });
    const outside = await predictWithProposals(new HostNetwork(net), image, options, {
      boxes,
      inputSize: [24, 24],
    });
    expect(Array.from(outside.probabilities)).toEqual(Array.from(reference.probabilities));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('passes a runtime failure on and frees what the pass held', async () => {
    const before = tf.memory().numTensors;
    const host = new HostNetwork(net);
    host.failAt = 2;
    const options = { normalization: PLAIN, mode: 'slide' as const, crop: [16, 16] as const, batchSize: 1 };
    await expect(predictImageAsync(host, image, options)).rejects.toThrow('runtime failed');
    expect(host.calls).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses the synchronous predictImage with a clear error', () => {
    const before = tf.memory().numTensors;
    expect(() => predictImage(new HostNetwork(net), image, { normalization: PLAIN })).toThrow(InputError);
    expect(() => predictImage(new HostNetwork(net), image, { normalization: PLAIN })).toThrow(
      /predictImageAsync/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
