import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { VGG16 } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Yu & Koltun's front-end (fyu/dilation network.py): no pool4/pool5 at all, every conv unpadded.
describe('VGG16 options for the DilatedNet front-end', () => {
  it("unstridedPool 'none' removes pool4 and pool5 (and their stride-1 windows)", () => {
    const config = { width: 1 / 16, outputStride: 8, fc: 'none' } as const;
    const withPools = new VGG16(config, new Rng(4));
    const without = new VGG16({ ...config, unstridedPool: 'none' }, new Rng(4));
    withPools.eval();
    without.eval();
    const x = tf.randomUniform([1, 29, 37, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const a = without.forward(x);
    const b = withPools.forward(x);
    // Same weights (same seed and names), same shapes; without the 3x3 max windows the maps differ.
    expect(a.pool5.shape).toEqual(b.pool5.shape);
    expect(tf.max(tf.abs(tf.sub(a.pool5, b.pool5))).dataSync()[0]).toBeGreaterThan(1e-4);
    const stateNames = Object.keys(without.stateDict());
    expect(stateNames).toEqual(Object.keys(withPools.stateDict()));
    tf.dispose([x, a.pool3, a.pool4, a.pool5, b.pool3, b.pool4, b.pool5]);
    withPools.dispose();
    without.dispose();
  });

  it("convPadding 'valid' pads no conv: the reference front-end's shapes", () => {
    // 2x2/2 ceil pools, valid 3x3 convs (conv5 dilated 2), fc6 7x7 dilated 4, valid. The released
    // geometry pads the input by 186 on each side, so 372 + 8k in gives k out.
    const vgg = new VGG16(
      {
        width: 1 / 16,
        outputStride: 8,
        unstridedPool: 'none',
        convPadding: 'valid',
        fc: '7x7',
        fc6Padding: 'valid',
        dropout: 0,
      },
      new Rng(5),
    );
    vgg.eval();
    const x = tf.zeros([1, 388, 396, 3]) as tf.Tensor4D;
    const f = vgg.forward(x);
    // 388: 384 -> 192 -> 188 -> 94 -> 88 -> 44 -> 38 -> 26 -> fc6: 2; 396 likewise ends at 3.
    expect(f.pool3.shape).toEqual([1, 44, 45, 16]);
    expect(f.pool5.shape).toEqual([1, 26, 27, 32]);
    expect(f.fc7!.shape).toEqual([1, 2, 3, 256]);
    tf.dispose([x, f.pool3, f.pool4, f.pool5, f.fc7!]);
    vgg.dispose();
  });

  it('leaves the default network as it was', () => {
    const vgg = new VGG16({ width: 1 / 16, outputStride: 8, fc: 'none' }, new Rng(0));
    expect(vgg.config.unstridedPool).toBe('max3x3');
    expect(vgg.config.convPadding).toBe('same');
    vgg.dispose();
  });
});
