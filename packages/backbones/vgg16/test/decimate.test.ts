import { describe, expect, it } from 'vitest';
import { decimateBias, decimateKernel } from '../src/weights/decimate.js';

describe('DeepLab fc decimation', () => {
  it('keeps every 3rd spatial tap and every 4th filter (hand-checked indices)', () => {
    // kernel[y][x][i][o] = 1000*y + 100*x + 10*i + o on a 7x7x2x8 kernel.
    const shape = [7, 7, 2, 8];
    const data = new Float32Array(7 * 7 * 2 * 8);
    let n = 0;
    for (let y = 0; y < 7; y++)
      for (let x = 0; x < 7; x++)
        for (let i = 0; i < 2; i++) for (let o = 0; o < 8; o++) data[n++] = 1000 * y + 100 * x + 10 * i + o;
    const out = decimateKernel({ data, shape }, 3, 1, 4);
    expect(out.shape).toEqual([3, 3, 2, 2]);
    // Taps y, x in {0, 3, 6}; outputs {0, 4}.
    expect(Array.from(out.data.slice(0, 4))).toEqual([0, 4, 10, 14]);
    const at = (y: number, x: number, i: number, o: number) => out.data[((y * 3 + x) * 2 + i) * 2 + o];
    expect(at(1, 2, 1, 1)).toBe(3000 + 600 + 10 + 4);
    expect(at(2, 0, 0, 1)).toBe(6000 + 4);
  });

  it('decimates input and output channels of a 1x1 kernel and the bias', () => {
    const data = Float32Array.from({ length: 8 * 8 }, (_, k) => k);
    const out = decimateKernel({ data, shape: [1, 1, 8, 8] }, 1, 4, 4);
    expect(out.shape).toEqual([1, 1, 2, 2]);
    expect(Array.from(out.data)).toEqual([0, 4, 32, 36]);
    expect(
      Array.from(decimateBias({ data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]), shape: [9] }, 4).data),
    ).toEqual([0, 4, 8]);
  });
});
