import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DatasetError } from '../errors.js';
import { type DecodeLabelOptions, type LabelPng, decodeLabelPng } from '../png-label.js';

/** An RGB image as decoded bytes, HWC. */
export interface DecodedImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export async function readDatasetFile(path: string, what: string, context: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? `${what} not found` : `${what} cannot be read (${code ?? String(error)})`;
    throw new DatasetError(path, `${problem}${context}`);
  }
}

/**
 * Decodes an image file's bytes (JPEG, or anything libvips reads) to 8-bit RGB. No EXIF rotation:
 * the pixels stay aligned with the label. Truncated or damaged data is an error, not grey pixels.
 */
export async function decodeImageBytes(bytes: Uint8Array, file: string): Promise<DecodedImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'warning' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (error) {
    throw new DatasetError(file, `corrupt or unreadable image (${(error as Error).message.split('\n')[0]})`);
  }
}

export async function readImageFile(path: string, context = ''): Promise<DecodedImage> {
  return decodeImageBytes(await readDatasetFile(path, 'image file', context), path);
}

export async function readLabelFile(
  path: string,
  options: DecodeLabelOptions,
  context = '',
): Promise<LabelPng> {
  return decodeLabelPng(await readDatasetFile(path, 'label file', context), path, options);
}
