import { describe, expect, it } from 'vitest';
import {
  LEGEND_GEOMETRY,
  Raster,
  type Rgb,
  VOC_CLASSES,
  blendLabels,
  classShares,
  completePalette,
  formatShare,
  legendEntries,
  overlayLayout,
  overlayPicture,
  vocColorMap,
} from '../src/index.js';

describe('completePalette', () => {
  it('keeps the given colours and fills every other index from the VOC colour map', () => {
    const given: Rgb[] = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const palette = completePalette(given);
    expect(palette).toHaveLength(256);
    expect(palette.slice(0, 2)).toEqual(given);
    expect(palette[2]).toEqual([0, 128, 0]); // VOC's bicycle colour for the first class beyond the list
    expect(palette[255]).toEqual([224, 224, 192]); // void
    palette[0]![0] = 99;
    expect(given[0]).toEqual([1, 2, 3]); // a copy
  });

  it('is the VOC colour map with no colours given, and takes a size', () => {
    expect(completePalette()).toEqual(vocColorMap(256));
    expect(completePalette([[9, 9, 9]], 21)).toEqual([[9, 9, 9], ...vocColorMap(21).slice(1)]);
    expect(() => completePalette([], 257)).toThrow(RangeError);
  });
});

function scene(width: number, height: number) {
  const data = new Uint8Array(width * height * 3).fill(100);
  const labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) labels[y * width + x] = x < width / 2 ? 15 : 0;
  labels[0] = 255;
  return { image: { width, height, data }, labels };
}

describe('blendLabels', () => {
  const palette = completePalette();

  it('mixes each pixel with its class colour by the opacity and leaves ignored pixels alone', () => {
    const { image, labels } = scene(4, 2);
    const out = blendLabels(image, labels, palette, 0.5);
    expect(out).toBeInstanceOf(Uint8ClampedArray);
    expect(Array.from(out.subarray(0, 4))).toEqual([100, 100, 100, 255]); // label 255
    // person (15) is [192, 128, 128]: (100 + 192) / 2 = 146, (100 + 128) / 2 = 114
    expect(Array.from(out.subarray(4, 8))).toEqual([146, 114, 114, 255]);
    expect(Array.from(out.subarray(12, 16))).toEqual([50, 50, 50, 255]); // background is black
  });

  it('rounds round(p + (c - p) a) by hand-computed values, 0 is the image and 1 the colours', () => {
    const rgb = { width: 3, height: 1, data: new Uint8Array([100, 100, 100, 10, 20, 30, 101, 3, 7]) };
    const labels = new Uint8Array([1, 0, 0]);
    const two: Rgb[] = [
      [0, 0, 0],
      [200, 100, 0],
    ];
    expect([...blendLabels(rgb, labels, two, 0)]).toEqual([
      100, 100, 100, 255, 10, 20, 30, 255, 101, 3, 7, 255,
    ]);
    expect([...blendLabels(rgb, labels, two, 1)]).toEqual([200, 100, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
    // 101 * 0.5 = 50.5 -> 51; 3 * 0.5 = 1.5 -> 2; 7 * 0.5 = 3.5 -> 4 (half away from zero, not to even).
    expect([...blendLabels(rgb, labels, two, 0.5)]).toEqual([
      150, 100, 50, 255, 5, 10, 15, 255, 51, 2, 4, 255,
    ]);
    // Out-of-range opacities clamp.
    expect(blendLabels(rgb, labels, two, 7)).toEqual(blendLabels(rgb, labels, two, 1));
  });

  it('leaves labels without a palette entry alone and rejects sizes that do not match', () => {
    const rgb = { width: 1, height: 1, data: new Uint8Array([9, 8, 7]) };
    expect([...blendLabels(rgb, new Uint8Array([3]), [[0, 0, 0]], 1)]).toEqual([9, 8, 7, 255]);
    expect(() =>
      blendLabels({ width: 2, height: 2, data: new Uint8Array(12) }, new Uint8Array(3), palette),
    ).toThrow(RangeError);
    expect(() =>
      blendLabels({ width: 2, height: 2, data: new Uint8Array(11) }, new Uint8Array(4), palette),
    ).toThrow(RangeError);
  });
});

describe('legend', () => {
  const classes = ['background', 'cat', 'dog'];
  const palette: Rgb[] = [
    [0, 0, 0],
    [64, 0, 0],
    [0, 64, 0],
  ];

  it('lists every class, largest share first (ties in class order); 255 counts in the total only', () => {
    const labels = new Uint8Array([0, 0, 1, 2, 2, 2, 255, 0]);
    const shares = classShares(labels, classes, palette);
    expect(shares.map((s) => [s.name, s.pixels, s.share])).toEqual([
      ['background', 3, 3 / 8],
      ['dog', 3, 3 / 8],
      ['cat', 1, 1 / 8],
    ]);
    expect(shares[1]!.color).toEqual([0, 64, 0]);
    expect(classShares(new Uint8Array([1, 1]), classes, palette).map((s) => s.share)).toEqual([1, 0, 0]);
  });

  it('names a label beyond the classes and lists only the classes present', () => {
    const labels = new Uint8Array([5, 5, 1, 255]);
    const entries = legendEntries(labels, classes, completePalette(palette));
    expect(entries.map((e) => [e.index, e.name, e.share])).toEqual([
      [5, 'class 5', 0.5],
      [1, 'cat', 0.25],
    ]);
    expect(entries[0]!.color).toEqual(vocColorMap()[5]);
  });

  it('formats shares with one decimal and marks tiny ones', () => {
    expect(formatShare(0.4567)).toBe('45.7%');
    expect(formatShare(0)).toBe('0%');
    expect(formatShare(0.0004)).toBe('<0.1%');
    expect(formatShare(1)).toBe('100.0%');
  });
});

describe('overlayPicture', () => {
  const palette = completePalette();

  it('draws the blended image above a legend with a bordered swatch of each class colour', () => {
    const { image, labels } = scene(300, 40);
    const picture = overlayPicture(image, labels, VOC_CLASSES, palette);
    expect([picture.width, picture.height, picture.columns, picture.rows]).toEqual([300, 40 + 18 + 12, 2, 1]);
    expect(picture.rgba).toHaveLength(300 * 70 * 4);
    const at = (x: number, y: number) => [...picture.rgba.subarray((y * 300 + x) * 4, (y * 300 + x) * 4 + 4)];
    // The image rows are blendLabels' bytes exactly.
    expect(picture.rgba.subarray(0, 300 * 40 * 4)).toEqual(blendLabels(image, labels, palette, 0.5));
    // Largest share first: background has 6,000 pixels, person 5,999 (one is 255).
    expect(picture.entries.map((e) => e.name)).toEqual(['background', 'person']);
    const { padding, columnWidth, swatch } = LEGEND_GEOMETRY;
    const top = 40 + padding + 3;
    expect(at(padding + 6, top + 6)).toEqual([0, 0, 0, 255]);
    expect(at(padding + columnWidth + 6, top + 6)).toEqual([192, 128, 128, 255]);
    expect(at(padding, top)).toEqual([51, 51, 51, 255]); // border
    expect(at(padding + swatch, top)).toEqual([255, 255, 255, 255]); // just right of it: white
    expect(picture.texts).toEqual([
      { x: padding + 17, y: 40 + padding + 13, text: 'background 50.0%', fontSize: 11 },
      { x: padding + columnWidth + 17, y: 40 + padding + 13, text: 'person 50.0%', fontSize: 11 },
    ]);
  });

  it('widens narrow images so that the legend fits', () => {
    const layout = overlayLayout(48, 48, 2);
    expect(layout.width).toBe(LEGEND_GEOMETRY.columnWidth + 2 * LEGEND_GEOMETRY.padding);
    expect([layout.columns, layout.rows]).toEqual([1, 2]);
    const { image, labels } = scene(48, 48);
    const picture = overlayPicture(image, labels, VOC_CLASSES, palette);
    expect(picture.width).toBe(layout.width);
    // Right of the image, the picture is white.
    expect([
      ...picture.rgba.subarray((10 * picture.width + 60) * 4, (10 * picture.width + 60) * 4 + 4),
    ]).toEqual([255, 255, 255, 255]);
  });
});

describe('Raster', () => {
  it('fills, outlines and clips', () => {
    const r = new Raster(4, 3, [10, 20, 30]);
    expect(r.getPixel(3, 2)).toEqual([10, 20, 30, 255]);
    r.strokeRect(0, 0, 3, 3, [1, 1, 1]);
    expect(r.getPixel(1, 1)).toEqual([10, 20, 30, 255]);
    expect(r.getPixel(2, 0)).toEqual([1, 1, 1, 255]);
    r.putRgba(new Uint8ClampedArray([5, 6, 7, 255, 8, 9, 10, 255]), 2, 3, 2);
    expect(r.getPixel(3, 2)).toEqual([5, 6, 7, 255]);
    r.setPixel(9, 9, [0, 0, 0]); // outside: ignored
  });
});
