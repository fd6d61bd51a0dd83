import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Rgb, VOC_CLASSES, blendLabels, completePalette, overlayPicture } from '@semseg/voc-data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
// The web page's own canvas function (a pure module of apps/web): the test that both apps draw the
// same overlay bytes has to hold both of them.
import { overlayPixels } from '../../web/src/overlay.js';
import { renderOverlay } from '../src/render/overlay.js';

/** A checkpoint of 3 classes that predicts a fourth (no checkpoint colour) and has void pixels. */
const CLASSES = ['background', 'cat', 'dog'];
const CHECKPOINT_PALETTE: Rgb[] = [
  [10, 10, 10],
  [200, 40, 40],
  [40, 200, 40],
];

function scene(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  const labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      data.set([(x * 7 + y) % 256, (x * 3 + y * 5) % 256, (x + y * 11) % 256], p * 3);
      labels[p] = (x + y) % 17 === 0 ? 255 : x < width / 3 ? 1 : x < (2 * width) / 3 ? 2 : y % 2 ? 3 : 0;
    }
  }
  return { image: { width, height, data }, labels };
}

async function rgbaOf(png: Buffer) {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('renderOverlay', () => {
  it("draws the image part with exactly the web page's canvas bytes (same input, opacities 0.5 and 0.3)", async () => {
    const { image, labels } = scene(301, 45);
    for (const opacity of [0.5, 0.3]) {
      const png = await renderOverlay(image, labels, CLASSES, completePalette(CHECKPOINT_PALETTE), opacity);
      const cli = await rgbaOf(png);
      const page = overlayPixels(
        { width: 301, height: 45, pixels: image.data },
        labels,
        CHECKPOINT_PALETTE,
        opacity,
      );
      expect(cli.width).toBe(301);
      expect(Buffer.from(cli.data.subarray(0, 301 * 45 * 4)).equals(Buffer.from(page))).toBe(true);
    }
  });

  it('is the shared overlay picture, with only the legend text added', async () => {
    const { image, labels } = scene(300, 40);
    const palette = completePalette(CHECKPOINT_PALETTE);
    const picture = overlayPicture(image, labels, CLASSES, palette);
    const cli = await rgbaOf(await renderOverlay(image, labels, CLASSES, palette));
    expect([cli.width, cli.height]).toEqual([picture.width, picture.height]);
    // Every pixel left of the legend texts (image, swatches, their borders, the margins) is the same.
    let compared = 0;
    for (let y = 0; y < picture.height; y++) {
      for (let x = 0; x < picture.width; x++) {
        const inText = y >= picture.legendTop && picture.texts.some((t) => x >= t.x - 1 && x < t.x + 120);
        if (inText) continue;
        const o = (y * picture.width + x) * 4;
        expect([...cli.data.subarray(o, o + 4)], `(${x}, ${y})`).toEqual([
          ...picture.rgba.subarray(o, o + 4),
        ]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(300 * 40);
    // The class without a checkpoint colour (3) is drawn in VOC's colour for 3, bird's olive-ish [128, 128, 0].
    expect(picture.entries.find((e) => e.index === 3)?.color).toEqual([128, 128, 0]);
  });

  it('has VOC colours for VOC classes and blends 255 not at all', async () => {
    const width = 4;
    const data = new Uint8Array(width * 2 * 3).fill(100);
    const labels = new Uint8Array([255, 15, 15, 0, 15, 15, 0, 0]);
    const cli = await rgbaOf(
      await renderOverlay({ width, height: 2, data }, labels, VOC_CLASSES, completePalette()),
    );
    // person (15) is [192, 128, 128]: (100 + 192) / 2 = 146, (100 + 128) / 2 = 114
    expect([...cli.data.subarray(0, 12)]).toEqual([
      100, 100, 100, 255, 146, 114, 114, 255, 146, 114, 114, 255,
    ]);
    expect([...cli.data.subarray(12, 16)]).toEqual([50, 50, 50, 255]);
    expect(cli.width).toBeGreaterThan(width); // widened for the legend
    expect([
      ...blendLabels({ width, height: 2, data }, labels, completePalette(), 0.5).subarray(4, 8),
    ]).toEqual([146, 114, 114, 255]);
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
