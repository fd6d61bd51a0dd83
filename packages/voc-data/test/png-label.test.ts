import { encode } from 'fast-png';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DatasetError, decodeLabelPng, encodeLabelPng, vocColorMap } from '../src/index.js';

const indices = new Uint8Array([0, 1, 15, 20, 255, 3]);

describe('label PNGs', () => {
  it('keeps palette indices, including 255, and reads the palette', () => {
    const png = decodeLabelPng(encodeLabelPng(indices, 3, 2), 'x.png', { numClasses: 21 });
    expect([...png.indices]).toEqual([...indices]);
    expect(png.palette?.[15]).toEqual([192, 128, 128]);
  });

  it('reads indices, not colours: a palette that paints classes alike still gives distinct indices', () => {
    const grey = Array.from({ length: 256 }, () => [128, 128, 128] as [number, number, number]);
    const png = decodeLabelPng(encodeLabelPng(indices, 3, 2, grey), 'x.png');
    expect([...png.indices]).toEqual([...indices]);
  });

  it('unpacks 1, 2 and 4-bit palette PNGs (written by libvips)', async () => {
    const width = 7;
    const height = 3;
    for (const bitdepth of [1, 2, 4] as const) {
      const levels = 2 ** bitdepth;
      const colors = vocColorMap(levels);
      const rgb = new Uint8Array(width * height * 3);
      const expected: string[] = [];
      for (let p = 0; p < width * height; p++) {
        const cls = (p * 5) % levels;
        rgb.set(colors[cls], p * 3);
        expected.push(colors[cls].join(','));
      }
      const file = await sharp(rgb, { raw: { width, height, channels: 3 } })
        .png({ palette: true, colours: levels, dither: 0 }) // libvips picks the smallest bit depth for the colours
        .toBuffer();
      expect([file[24], file[25]]).toEqual([bitdepth, 3]); // IHDR: bit depth, colour type 3 (palette)
      const png = decodeLabelPng(file, 'small.png');
      expect(png.indices).toHaveLength(width * height);
      // libvips' own decode of the same file is the reference (its quantiser may merge colours).
      const decoded = await sharp(file).removeAlpha().raw().toBuffer();
      const reference = Array.from({ length: width * height }, (_, p) =>
        [...decoded.subarray(p * 3, p * 3 + 3)].join(','),
      );
      expect([...png.indices].map((i) => png.palette![i].join(','))).toEqual(reference);
      if (bitdepth < 4) expect(reference).toEqual(expected);
    }
  });

  it('refuses RGB and (unless allowed) greyscale label PNGs, naming the file', () => {
    const rgb = encode({ width: 1, height: 1, data: new Uint8Array([128, 0, 0]), channels: 3, depth: 8 });
    expect(() => decodeLabelPng(rgb, 'rgb.png')).toThrow(/rgb\.png: label PNG is not palette-indexed/);
    const gray = encode({ width: 3, height: 2, data: indices, channels: 1, depth: 8 });
    expect(() => decodeLabelPng(gray, 'gray.png')).toThrow(DatasetError);
    expect([...decodeLabelPng(gray, 'gray.png', { allowGray: true }).indices]).toEqual([...indices]);
  });

  it('refuses an index that is neither a class nor 255', () => {
    const bad = encodeLabelPng(new Uint8Array([0, 21, 21, 254]), 2, 2);
    expect(() => decodeLabelPng(bad, 'bad.png', { numClasses: 21 })).toThrow(
      'bad.png: label holds index 21 (2 px), 254 (1 px), neither a class (0..20) nor 255 (ignore)',
    );
    expect(decodeLabelPng(bad, 'bad.png', { numClasses: 255 }).indices).toHaveLength(4);
  });

  it('refuses corrupt PNG data', () => {
    const good = encodeLabelPng(indices, 3, 2);
    const flipped = good.slice();
    flipped[good.length - 16] ^= 0xff; // inside IDAT: CRC mismatch
    expect(() => decodeLabelPng(flipped, 'crc.png')).toThrow(/crc\.png: corrupt PNG/);
    expect(() => decodeLabelPng(good.subarray(0, 30), 'short.png')).toThrow(/short\.png: corrupt PNG/);
    expect(() => decodeLabelPng(new TextEncoder().encode('not a png at all'), 'text.png')).toThrow(
      /text\.png: corrupt PNG/,
    );
  });
});
