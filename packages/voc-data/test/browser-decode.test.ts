import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DatasetError, decodeImageWithPlatform, rgbaToRgb } from '../src/index.js';

/** A stand-in for the browser's decoder built on libvips, to check the wiring around it. */
function stubPlatform() {
  const calls: { options?: ImageBitmapOptions }[] = [];
  class FakeBitmap {
    constructor(
      readonly width: number,
      readonly height: number,
      readonly rgba: Uint8Array,
    ) {}
    close() {}
  }
  vi.stubGlobal('createImageBitmap', async (blob: Blob, options?: ImageBitmapOptions) => {
    calls.push({ options });
    const { data, info } = await sharp(new Uint8Array(await blob.arrayBuffer()))
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new FakeBitmap(info.width, info.height, new Uint8Array(data));
  });
  vi.stubGlobal(
    'OffscreenCanvas',
    class {
      private drawn: FakeBitmap | undefined;
      constructor(
        readonly width: number,
        readonly height: number,
      ) {}
      getContext() {
        return {
          drawImage: (bitmap: FakeBitmap) => {
            this.drawn = bitmap;
          },
          getImageData: () => ({ data: new Uint8ClampedArray(this.drawn!.rgba) }),
        };
      }
    },
  );
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('platform image decoding (browser path)', () => {
  it('drops alpha', () => {
    expect([...rgbaToRgb(new Uint8Array([1, 2, 3, 255, 4, 5, 6, 0]), 2, 1)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => rgbaToRgb(new Uint8Array(7), 2, 1)).toThrow(RangeError);
  });

  it('decodes through createImageBitmap + OffscreenCanvas without colour conversion', async () => {
    const calls = stubPlatform();
    const rgb = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37) % 256);
    const png = await sharp(rgb, { raw: { width: 5, height: 3, channels: 3 } })
      .png()
      .toBuffer();
    const image = await decodeImageWithPlatform(new Uint8Array(png), 'a.png');
    expect([image.width, image.height]).toEqual([5, 3]);
    expect(image.data).toEqual(rgb);
    expect(calls[0].options).toEqual({ colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  });

  it('names the file when the platform cannot decode it or has no decoder', async () => {
    await expect(decodeImageWithPlatform(new Uint8Array(4), 'none.jpg')).rejects.toThrow(
      /none\.jpg: this platform has no createImageBitmap/,
    );
    stubPlatform();
    const error = await decodeImageWithPlatform(new Uint8Array([1, 2, 3]), 'bad.jpg').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).message).toMatch(/^bad\.jpg: corrupt or unreadable image/);
  });
});
