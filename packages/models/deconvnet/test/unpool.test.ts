// Unpooling must put every value back at its window's maximum for any input size: checked against
// an exact slow implementation of ceil-mode 2x2 pooling and unpooling in plain loops.
import { MaxPool2d } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { unpool } from '../src/units.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Slow reference: ceil-mode 2x2 stride-2 pooling of one H x W plane (windows cut at the border),
 * first maximum in raster order, then each pooled value (times `gain`) written at its maximum's
 * position of an H x W zero plane. `gridWidth` lays the flat index h * W + w out on a grid of that
 * width instead, as PyTorch's MaxUnpool2d without output_size does (W + 1 for an odd W).
 */
function slowPoolUnpool(
  plane: Float32Array,
  h: number,
  w: number,
  gain: number,
  gridWidth = w,
): Float32Array {
  const oh = Math.ceil(h / 2);
  const ow = Math.ceil(w / 2);
  const gridHeight = gridWidth === w ? h : 2 * oh;
  const out = new Float32Array(gridHeight * gridWidth);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let best = Number.NEGATIVE_INFINITY;
      let at = -1;
      for (let di = 0; di < 2; di++) {
        for (let dj = 0; dj < 2; dj++) {
          const y = 2 * i + di;
          const x = 2 * j + dj;
          if (y >= h || x >= w) continue;
          if (plane[y * w + x]! > best) {
            best = plane[y * w + x]!;
            at = y * w + x;
          }
        }
      }
      const y = Math.floor(at / gridWidth);
      const x = at % gridWidth;
      out[y * gridWidth + x] = best * gain;
    }
  }
  return out;
}

function channelPlane(
  data: Float32Array,
  h: number,
  w: number,
  c: number,
  n: number,
  channel: number,
): Float32Array {
  const plane = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) plane[p] = data[(n * h * w + p) * c + channel]!;
  return plane;
}

describe('unpooling with the pre-pool size', () => {
  it.each([
    [7, 9],
    [5, 5],
    [8, 6],
    [3, 3],
    [13, 2],
  ])('puts values at the switch positions for %ix%i (ceil-mode pooling)', (h, w) => {
    const pool = new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: true });
    // Distinct values (a shuffled ramp, some negative): a single maximum per window.
    const n = 2;
    const c = 3;
    const count = n * h * w * c;
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = ((i * 7919) % count) - count / 3;
    const x = tf.tensor4d(values, [n, h, w, c]);
    const baseline = tf.memory().numTensors;
    const { output, switches } = pool.forwardWithSwitches(x);
    // A decoder changes the values between pooling and unpooling: scale them so positions, not values, are tested.
    const scaled = tf.mul(output, 3) as tf.Tensor4D;
    const restored = unpool(scaled, { switches, inputSize: [h, w] });
    expect(restored.shape).toEqual([n, h, w, c]);
    const got = restored.dataSync() as Float32Array;
    for (let s = 0; s < n; s++) {
      for (let ch = 0; ch < c; ch++) {
        const want = slowPoolUnpool(channelPlane(values, h, w, c, s, ch), h, w, 3);
        // (+ 0 turns the -0 of a masked negative value into 0.)
        expect(Array.from(channelPlane(got, h, w, c, s, ch), (v) => v + 0)).toEqual(Array.from(want));
      }
    }
    tf.dispose([output, switches, scaled, restored]);
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
  });

  it("differs from the seed's call without output_size exactly where a size is odd", () => {
    // The seed's MaxUnpool2d(x, indices) lays indices h * W + w out on a (2 * OH) x (2 * OW) grid:
    // for an odd W that is W + 1 wide, so values land on the wrong rows. Even sizes agree.
    const plane = new Float32Array(7 * 9).map((_, i) => ((i * 37) % 63) - 20);
    const right = slowPoolUnpool(plane, 7, 9, 1);
    const seedLike = slowPoolUnpool(plane, 7, 9, 1, 10);
    const cropped = new Float32Array(7 * 9);
    for (let y = 0; y < 7; y++) for (let x = 0; x < 9; x++) cropped[y * 9 + x] = seedLike[y * 10 + x]!;
    expect(Array.from(cropped)).not.toEqual(Array.from(right));
    const even = new Float32Array(6 * 8).map((_, i) => ((i * 29) % 48) - 10);
    expect(Array.from(slowPoolUnpool(even, 6, 8, 1, 8))).toEqual(Array.from(slowPoolUnpool(even, 6, 8, 1)));
  });
});
