import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NpyError, decodeNpy, encodeNpy } from '../src/npy.js';

// Files written by numpy 2.4 (np.save / write_array): an independent reference for the format.
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`fixtures/${name}`, import.meta.url)));
const expected = Float32Array.from({ length: 12 }, (_, i) => i / 4);

describe('decodeNpy', () => {
  it('reads numpy float32 C-order files, version 1 and 2', () => {
    for (const name of ['f32-2x3x2.npy', 'f32-v2-2x3x2.npy']) {
      const array = decodeNpy(fixture(name), name);
      expect(array.shape).toEqual([2, 3, 2]);
      expect(Array.from(array.data)).toEqual(Array.from(expected));
    }
  });

  it('names the problem and the fix for other dtypes, byte orders and Fortran order', () => {
    expect(() => decodeNpy(fixture('f64-2x3x2.npy'), 'p.npy')).toThrow(
      /p\.npy: dtype '<f8' is not supported; save little-endian float32/,
    );
    expect(() => decodeNpy(fixture('f32-big-endian-2x3x2.npy'), 'p.npy')).toThrow(
      /big-endian float32 is not supported/,
    );
    expect(() => decodeNpy(fixture('f32-fortran-2x3x2.npy'), 'p.npy')).toThrow(
      /Fortran-order arrays are not supported; save np\.ascontiguousarray/,
    );
  });

  it('rejects files that are not .npy, truncated data and data beyond the shape', () => {
    expect(() => decodeNpy(new TextEncoder().encode('hello world, not numpy'), 'x.npy')).toThrow(NpyError);
    expect(() => decodeNpy(new TextEncoder().encode('hello world, not numpy'), 'x.npy')).toThrow(
      /magic is missing/,
    );
    const good = fixture('f32-2x3x2.npy');
    expect(() => decodeNpy(good.subarray(0, good.length - 4), 'x.npy')).toThrow(
      /needs 48 data bytes, the file holds 44/,
    );
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expect(() => decodeNpy(longer, 'x.npy')).toThrow(/needs 48 data bytes, the file holds 52/);
  });

  it('reads data that starts at an offset not aligned to 4 bytes', () => {
    const good = fixture('f32-2x3x2.npy');
    const shifted = new Uint8Array(good.length + 1).subarray(1);
    shifted.set(good);
    expect(Array.from(decodeNpy(shifted).data)).toEqual(Array.from(expected));
  });
});

describe('encodeNpy', () => {
  it('writes exactly the bytes numpy writes', () => {
    expect(Buffer.from(encodeNpy(expected, [2, 3, 2])).equals(Buffer.from(fixture('f32-2x3x2.npy')))).toBe(
      true,
    );
  });

  it('round-trips shapes of any rank with the data 64-byte aligned', () => {
    for (const shape of [[5], [4, 3], [2, 3, 4], [1, 1, 1, 7], [0, 3]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: count }, (_, i) => Math.sin(i) * 1e3);
      const bytes = encodeNpy(data, shape);
      const headerLength = new DataView(bytes.buffer).getUint16(8, true);
      expect((10 + headerLength) % 64).toBe(0);
      const back = decodeNpy(bytes);
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('refuses a shape that does not hold the data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(RangeError);
  });
});
