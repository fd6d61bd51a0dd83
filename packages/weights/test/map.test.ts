import { describe, expect, it } from 'vitest';
import {
  type ForeignTensor,
  type WeightFile,
  type WeightNameMap,
  foreignShape,
  mapWeights,
  toForeignLayout,
  toOurLayout,
} from '../src/index.js';

function tensor(shape: number[], values?: number[]): ForeignTensor {
  const data = Float32Array.from(
    values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i),
  );
  return { dtype: 'F32', shape, toFloat32: () => data.slice() };
}

function file(entries: Record<string, ForeignTensor>): WeightFile {
  return { file: 'test.caffemodel', format: 'caffe', tensors: new Map(Object.entries(entries)) };
}

const byName = (table: Record<string, ReturnType<WeightNameMap['source']>>): WeightNameMap => ({
  format: 'caffe',
  description: 'a test net',
  source: (p) => table[p] ?? null,
});

describe('layouts', () => {
  it('conv: OIHW element [o][i][y][x] lands at our HWIO [y][x][i][o]', () => {
    // file [2 out, 3 in, 2, 2]; ours [2, 2, 3, 2]
    const ours = toOurLayout(tensor([2, 3, 2, 2]).toFloat32(), [2, 2, 3, 2], 'conv');
    for (let o = 0; o < 2; o++)
      for (let i = 0; i < 3; i++)
        for (let y = 0; y < 2; y++)
          for (let x = 0; x < 2; x++)
            expect(ours[((y * 2 + x) * 3 + i) * 2 + o]).toBe(((o * 3 + i) * 2 + y) * 2 + x);
  });

  it('conv-transpose: [in][out][y][x] lands at our [y][x][out][in]', () => {
    expect(foreignShape([4, 4, 3, 5], 'conv-transpose')).toEqual([5, 3, 4, 4]);
    const ours = toOurLayout(tensor([5, 3, 4, 4]).toFloat32(), [4, 4, 3, 5], 'conv-transpose');
    // file element in=4, out=2, y=1, x=3
    expect(ours[((1 * 4 + 3) * 3 + 2) * 5 + 4]).toBe(((4 * 3 + 2) * 4 + 1) * 4 + 3);
  });

  it('linear-as-conv: [out][c*h*w] (C, H, W order) becomes a kh x kw conv, and back', () => {
    expect(foreignShape([7, 7, 512, 4096], 'linear-as-conv')).toEqual([4096, 25088]);
    const values = tensor([3, 2 * 2 * 2]).toFloat32(); // 3 outputs, 2 channels of 2x2
    const ours = toOurLayout(values, [2, 2, 2, 3], 'linear-as-conv');
    // output 1, channel 1, y 0, x 1: row 1, column (1 * 2 + 0) * 2 + 1 = 5
    expect(ours[((0 * 2 + 1) * 2 + 1) * 3 + 1]).toBe(values[1 * 8 + 5]);
    expect(toForeignLayout(ours, [2, 2, 2, 3], 'linear-as-conv')).toEqual(values);
  });
});

describe('mapWeights', () => {
  it('divides by a Caffe BatchNorm scale factor, and a factor of 0 gives zeros', () => {
    const map = byName({
      'bn.runningMean': { key: 'bn/0', layout: 'same', divideBy: 'bn/2' },
      'bn2.runningMean': { key: 'bn2/0', layout: 'same', divideBy: 'bn2/2' },
    });
    const out = mapWeights(
      file({
        'bn/0': tensor([2], [3, 6]),
        'bn/2': tensor([1], [1.5]),
        'bn2/0': tensor([1], [4]),
        'bn2/2': tensor([1], [0]),
      }),
      map,
      { 'bn.runningMean': [2], 'bn2.runningMean': [1] },
    );
    expect(Array.from(out.values['bn.runningMean']!.data)).toEqual([2, 4]);
    expect(Array.from(out.values['bn2.runningMean']!.data)).toEqual([0]);
  });

  it('accepts Caffe legacy leading 1s (1 x 1 x out x in)', () => {
    const map = byName({ 'fc.weight': { key: 'fc/0', layout: 'linear-as-conv' } });
    const out = mapWeights(file({ 'fc/0': tensor([1, 1, 3, 4]) }), map, { 'fc.weight': [1, 1, 4, 3] });
    expect(out.values['fc.weight']!.shape).toEqual([1, 1, 4, 3]);
  });

  it('one error names every missing, unexpected and mis-shaped tensor on both sides, and the file', () => {
    const map = byName({
      'a.weight': { key: 'a/0', layout: 'conv' },
      'b.weight': { key: 'b/0', layout: 'conv' },
    });
    const call = () =>
      mapWeights(file({ 'a/0': tensor([4, 3, 3, 3]), 'extra/0': tensor([1]) }), map, {
        'a.weight': [3, 3, 3, 8],
        'b.weight': [1, 1, 2, 2],
      });
    expect(call).toThrow(
      "test.caffemodel: does not fit a test net; missing 1: b.weight <- 'b/0'; unexpected 1: 'extra/0'; wrong shape 1: a.weight [3,3,3,8] needs 'a/0' as [8,3,3,3], the file has [4,3,3,3]",
    );
    const partial = mapWeights(
      file({ 'a/0': tensor([8, 3, 3, 3]) }),
      map,
      { 'a.weight': [3, 3, 3, 8], 'b.weight': [1, 1, 2, 2] },
      { allowMissing: true },
    );
    expect(partial.loaded).toEqual(['a.weight']);
    expect(partial.missing).toEqual(["b.weight <- 'b/0'"]);
  });
});
