import { describe, expect, it } from 'vitest';
import {
  ImageFileError,
  describeContent,
  isCheckpointPart,
  requireImage,
  sniffImageKind,
} from '../src/file-types.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);

describe('image file checks', () => {
  it('recognises the image formats by their signatures', () => {
    expect(sniffImageKind(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0))).toBe('png');
    expect(sniffImageKind(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('jpeg');
    expect(sniffImageKind(text('GIF89a'))).toBe('gif');
    expect(sniffImageKind(text('RIFF\u0000\u0000\u0000\u0000WEBPVP8 '))).toBe('webp');
    expect(sniffImageKind(text('BM6\u0000'))).toBe('bmp');
  });

  it('rejects look-alikes: a RIFF that is not WebP, a truncated PNG signature, nothing at all', () => {
    expect(sniffImageKind(text('RIFF\u0000\u0000\u0000\u0000WAVEfmt '))).toBeNull();
    expect(sniffImageKind(bytes(0x89, 0x50, 0x4e, 0x47))).toBeNull();
    expect(sniffImageKind(new Uint8Array(0))).toBeNull();
  });

  it('says what a non-image looks like', () => {
    expect(describeContent(text('%PDF-1.7'))).toBe('it looks like a PDF');
    expect(describeContent(text('  {"format": "x"}'))).toBe('it looks like JSON');
    expect(describeContent(text('<!doctype html>'))).toBe('it looks like HTML or XML');
    expect(describeContent(text('hello, world\n'))).toBe('it looks like text');
    expect(describeContent(bytes(0x50, 0x4b, 0x03, 0x04))).toBe('it looks like a ZIP archive');
    expect(describeContent(new Uint8Array(0))).toBe('it is empty');
    expect(describeContent(bytes(0, 1, 2, 3, 200))).toBe('its content is no image format the page reads');
  });

  it('requireImage names the file and the reason', () => {
    expect(requireImage(bytes(0xff, 0xd8, 0xff, 0xdb), 'a.jpg')).toBe('jpeg');
    expect(() => requireImage(text('just some notes'), 'notes.txt')).toThrow(ImageFileError);
    expect(() => requireImage(text('just some notes'), 'notes.txt')).toThrow(
      'notes.txt is not an image (it looks like text); choose a PNG, JPEG, WebP, GIF or BMP file',
    );
  });

  it('tells checkpoint parts from images by name', () => {
    expect(isCheckpointPart('model.json')).toBe(true);
    expect(isCheckpointPart('weights.BIN')).toBe(true);
    expect(isCheckpointPart('photo.png')).toBe(false);
  });
});
