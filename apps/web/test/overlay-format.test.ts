import type { Rgb } from '@semseg/core';
import { describe, expect, it } from 'vitest';
import { agreement, formatBytes, formatMs } from '../src/format.js';
import { processingSize } from '../src/image-input.js';
import { overlayPixels, splitLabels } from '../src/overlay.js';
import { userMessage } from '../src/user-message.js';

const palette: Rgb[] = [
  [0, 0, 0],
  [200, 100, 0],
];

describe('overlay', () => {
  const rgb = new Uint8Array([100, 100, 100, 10, 20, 30, 50, 60, 70]);
  const labels = new Uint8Array([1, 0, 255]);

  const image = { width: 3, height: 1, pixels: rgb };

  it('blends class colours over the image by the opacity; ignore (255) keeps the image', () => {
    expect([...overlayPixels(image, labels, palette, 0)]).toEqual([
      100, 100, 100, 255, 10, 20, 30, 255, 50, 60, 70, 255,
    ]);
    expect([...overlayPixels(image, labels, palette, 1)]).toEqual([
      200, 100, 0, 255, 0, 0, 0, 255, 50, 60, 70, 255,
    ]);
    expect([...overlayPixels(image, labels, palette, 0.5)]).toEqual([
      150, 100, 50, 255, 5, 10, 15, 255, 50, 60, 70, 255,
    ]);
  });

  it("colours a class beyond the checkpoint's palette as the VOC colour map does, as the CLI", () => {
    // Class 2 has no checkpoint colour: VOC's [0, 128, 0] (bicycle), blended at 1 = the colour itself.
    expect([
      ...overlayPixels({ width: 1, height: 1, pixels: rgb.subarray(0, 3) }, new Uint8Array([2]), palette, 1),
    ]).toEqual([0, 128, 0, 255]);
  });

  it('splits before | after at a column', () => {
    const before = new Uint8Array([1, 1, 1, 1, 1, 1]);
    const after = new Uint8Array([2, 2, 2, 2, 2, 2]);
    expect([...splitLabels(before, after, 3, 1)]).toEqual([1, 2, 2, 1, 2, 2]);
    expect([...splitLabels(before, after, 3, 0)]).toEqual([2, 2, 2, 2, 2, 2]);
    expect([...splitLabels(before, after, 3, 3)]).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('formatting and messages', () => {
  it('formats milliseconds and bytes', () => {
    expect(formatMs(3.04)).toBe('3.0 ms');
    expect(formatMs(456.7)).toBe('457 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(undefined)).toBe('–');
    expect(formatBytes(2_634_956)).toBe('2.6 MB');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('measures label agreement', () => {
    expect(agreement(new Uint8Array([1, 2, 3, 4]), new Uint8Array([1, 2, 0, 4]))).toBe(0.75);
    expect(() => agreement(new Uint8Array(2), new Uint8Array(3))).toThrow(RangeError);
  });

  it('scales images over 2048 px on the longer side and leaves the others', () => {
    expect(processingSize(300, 200)).toEqual({ width: 300, height: 200 });
    expect(processingSize(2048, 1536)).toEqual({ width: 2048, height: 1536 });
    expect(processingSize(4096, 3072)).toEqual({ width: 2048, height: 1536 });
    expect(processingSize(1000, 4000)).toEqual({ width: 512, height: 2048 });
  });

  it('explains out-of-memory failures and passes other messages on', () => {
    expect(userMessage(new Error('Failed to allocate 1.2GB buffer'))).toMatch(/ran out of memory/);
    expect(userMessage(new Error('WebGL: CONTEXT_LOST_WEBGL'))).toMatch(/ran out of memory/);
    expect(userMessage(new Error('model.json: format "layers-model" is not a semseg checkpoint'))).toBe(
      'model.json: format "layers-model" is not a semseg checkpoint',
    );
    expect(userMessage('plain text')).toBe('plain text');
  });
});
