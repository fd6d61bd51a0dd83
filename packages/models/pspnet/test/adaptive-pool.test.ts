// The adaptive average pooling PSPNet's pyramid uses (@semseg/layers) against PyTorch's
// adaptive_avg_pool2d: bin edges, values and gradients on sizes that bins do not divide, and bins
// larger than the input.
import { Rng } from '@semseg/core';
import { torchSkipReason } from '@semseg/tooling/python';
import '@tensorflow/tfjs-backend-cpu';
import { AdaptiveAvgPool2d, adaptiveAvgPool2d, adaptivePoolMatrix } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type NamedArray, arrayOf, maxAbsDiff, runTorch } from './torch-io.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function random(shape: number[], seed: number): tf.Tensor4D {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(
    new Rng(seed).fillNormal(new Float32Array(size)),
    shape as [number, number, number, number],
  );
}

/** The [start, end) input range of each bin, read from the pooling matrix's non-zero entries. */
function binEdges(length: number, bins: number): Array<[number, number]> {
  const m = adaptivePoolMatrix(length, bins);
  return Array.from({ length: bins }, (_, i) => {
    const row = Array.from(m.subarray(i * length, (i + 1) * length));
    return [row.findIndex((v) => v > 0), length - [...row].reverse().findIndex((v) => v > 0)];
  });
}

describe('adaptive pooling bins', () => {
  it('are floor(i * L / bins) .. ceil((i + 1) * L / bins), overlapping where bins do not divide L', () => {
    expect(binEdges(7, 3)).toEqual([
      [0, 3],
      [2, 5],
      [4, 7],
    ]);
    expect(binEdges(6, 3)).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
    ]);
    expect(binEdges(4, 6)).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
      [2, 3],
      [2, 4],
      [3, 4],
    ]);
  });

  it('averages exactly those rows and columns (hand-computed 3x5 to 2x2)', () => {
    // rows 3 -> 2 bins: [0,2), [1,3); columns 5 -> 2 bins: [0,3), [2,5).
    const x = tf.tensor4d(
      Float32Array.from({ length: 15 }, (_, i) => i),
      [1, 3, 5, 1],
    );
    const y = adaptiveAvgPool2d(x, [2, 2]);
    const mean = (rows: number[], cols: number[]) => {
      let s = 0;
      for (const r of rows) for (const c of cols) s += r * 5 + c;
      return s / (rows.length * cols.length);
    };
    const expected = [
      mean([0, 1], [0, 1, 2]),
      mean([0, 1], [2, 3, 4]),
      mean([1, 2], [0, 1, 2]),
      mean([1, 2], [2, 3, 4]),
    ];
    expect(maxAbsDiff(y.dataSync(), expected)).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });
});

describe.skipIf(torchSkipReason() !== null)('adaptiveAvgPool2d against PyTorch', () => {
  const cases: Array<{ size: [number, number]; bins: [number, number] }> = [
    { size: [13, 7], bins: [6, 6] },
    { size: [13, 7], bins: [3, 2] },
    { size: [59, 61], bins: [6, 6] },
    { size: [5, 11], bins: [3, 3] },
    { size: [4, 3], bins: [6, 6] },
    { size: [9, 9], bins: [1, 1] },
    { size: [60, 60], bins: [2, 2] },
  ];

  it('matches values and input gradients on odd sizes (max |d| < 1e-5)', () => {
    const inputs: Record<string, NamedArray> = {};
    const ours: Record<string, { y: Float32Array; dx: Float32Array }> = {};
    const before = tf.memory().numTensors;
    cases.forEach(({ size, bins }, i) => {
      const x = random([2, size[0], size[1], 3], 10 + i);
      const dy = random([2, bins[0], bins[1], 3], 50 + i);
      const layer = new AdaptiveAvgPool2d(bins);
      const y = layer.forward(x);
      const dx = tf.grad((v) => tf.sum(tf.mul(adaptiveAvgPool2d(v as tf.Tensor4D, bins), dy)))(x);
      ours[i] = { y: Float32Array.from(y.dataSync()), dx: Float32Array.from(dx.dataSync()) };
      inputs[`x${i}`] = arrayOf(x);
      inputs[`dy${i}`] = arrayOf(dy);
      tf.dispose([x, dy, y, dx]);
    });
    expect(tf.memory().numTensors).toBe(before);

    const script = `
a = load_arrays()
out = {}
bins = ${JSON.stringify(cases.map((c) => c.bins))}
for i, b in enumerate(bins):
    x = nchw(a['x%d' % i]).requires_grad_(True)
    y = F.adaptive_avg_pool2d(x, tuple(b))
    (y * nchw(a['dy%d' % i])).sum().backward()
    out['y%d' % i] = nhwc(y)
    out['dx%d' % i] = nhwc(x.grad)
save_arrays(out)
`;
    const reference = runTorch(script, inputs);
    cases.forEach((c, i) => {
      expect(reference[`y${i}`]!.shape).toEqual([2, c.bins[0], c.bins[1], 3]);
      const dy = maxAbsDiff(ours[i]!.y, reference[`y${i}`]!.data);
      const dx = maxAbsDiff(ours[i]!.dx, reference[`dx${i}`]!.data);
      expect(dy, `values ${c.size} -> ${c.bins}`).toBeLessThan(1e-5);
      expect(dx, `gradients ${c.size} -> ${c.bins}`).toBeLessThan(1e-5);
    });
  });
});
