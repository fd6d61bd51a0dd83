import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VOC_CLASSES, vocColorMap } from '@semseg/voc-data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fullPalette } from '../src/io/label-png.js';
import { blendLabels, legendEntries, overlayLayout, renderOverlay } from '../src/render/overlay.js';

const palette = fullPalette();

function scene(width: number, height: number) {
  const data = new Uint8Array(width * height * 3).fill(100);
  const labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) labels[y * width + x] = x < width / 2 ? 15 : 0;
  labels[0] = 255;
  return { image: { width, height, data }, labels };
}

async function rawPixels(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return {
    data,
    info,
    at: (x: number, y: number) =>
      Array.from(
        data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
      ),
  };
}

describe('blendLabels', () => {
  it('mixes each pixel with its class colour and leaves ignored pixels alone', () => {
    const { image, labels } = scene(4, 2);
    const out = blendLabels(image, labels, palette, 0.5);
    expect(Array.from(out.subarray(0, 3))).toEqual([100, 100, 100]); // label 255
    // person (15) is [192, 128, 128]: (100 + 192) / 2 = 146, (100 + 128) / 2 = 114
    expect(Array.from(out.subarray(3, 6))).toEqual([146, 114, 114]);
    expect(Array.from(out.subarray(9, 12))).toEqual([50, 50, 50]); // background is black
  });

  it('rejects labels of another size', () => {
    expect(() =>
      blendLabels({ width: 2, height: 2, data: new Uint8Array(12) }, new Uint8Array(3), palette),
    ).toThrow(RangeError);
  });
});

describe('legendEntries', () => {
  it('lists the classes present, in class order, with their share of pixels', () => {
    const { labels } = scene(4, 2);
    const entries = legendEntries(labels, VOC_CLASSES, palette);
    expect(entries.map((e) => [e.name, e.share])).toEqual([
      ['background', 4 / 8],
      ['person', 3 / 8],
    ]);
    expect(entries[1]!.color).toEqual(vocColorMap()[15]);
  });
});

describe('renderOverlay', () => {
  it('draws the blended image above a legend with a swatch of each class colour', async () => {
    const { image, labels } = scene(300, 40);
    const png = await renderOverlay(image, labels, VOC_CLASSES, palette);
    const layout = overlayLayout(300, 40, 2);
    expect([layout.columns, layout.rows]).toEqual([2, 1]);
    const { info, at } = await rawPixels(png);
    expect([info.width, info.height]).toEqual([layout.width, layout.height]);
    expect(at(50, 20)).toEqual([146, 114, 114]);
    expect(at(250, 20)).toEqual([50, 50, 50]);
    // First swatch (background, black) and second (person) at their legend positions.
    expect(at(6 + 6, 40 + 6 + 3 + 6)).toEqual([0, 0, 0]);
    expect(at(6 + 132 + 6, 40 + 6 + 3 + 6)).toEqual([192, 128, 128]);
  });

  it('widens narrow images so that the legend fits', async () => {
    const { image, labels } = scene(48, 48);
    const { info } = await rawPixels(await renderOverlay(image, labels, VOC_CLASSES, palette));
    expect(info.width).toBeGreaterThan(48);
  });

  it('renders without crashing where no font is installed', () => {
    // A fontconfig with no font folders, in a fresh process (fontconfig reads it once).
    const dir = mkdtempSync(join(tmpdir(), 'semseg-nofonts-'));
    const config = join(dir, 'fonts.conf');
    writeFileSync(
      config,
      '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><cachedir>' +
        dir +
        '</cachedir></fontconfig>\n',
    );
    const script = `
      import { renderOverlay } from ${JSON.stringify(new URL('../src/render/overlay.ts', import.meta.url).pathname)};
      const data = new Uint8Array(64 * 64 * 3).fill(90);
      const labels = new Uint8Array(64 * 64).fill(3);
      const png = await renderOverlay({ width: 64, height: 64, data }, labels, ['a', 'b', 'c', 'bird'], [[0,0,0],[1,1,1],[2,2,2],[128,128,0]]);
      process.stdout.write(String(png.length));
    `;
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env: { ...process.env, FONTCONFIG_FILE: config, FONTCONFIG_PATH: dir },
        encoding: 'utf8',
      });
      expect(Number(out)).toBeGreaterThan(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
