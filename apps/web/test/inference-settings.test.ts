import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INFERENCE,
  WHOLE_IMAGE_LIMIT,
  inferenceSettings,
  parseScales,
} from '../src/inference-settings.js';

describe('inferenceSettings', () => {
  it("turns the form into the engine's options, as semseg predict's flags", () => {
    expect(inferenceSettings(DEFAULT_INFERENCE, { width: 500, height: 375 })).toEqual({
      mode: 'whole',
      crop: [512, 512],
      stride: [341, 341],
      scales: [1],
      flip: false,
      description: 'whole image, scale 1',
    });
    const slide = inferenceSettings(
      { mode: 'slide', crop: 64, stride: 48, scales: '0.75, 1', flip: true },
      { width: 123, height: 127 },
    );
    expect(slide).toMatchObject({
      mode: 'slide',
      crop: [64, 64],
      stride: [48, 48],
      scales: [0.75, 1],
      flip: true,
    });
    expect('description' in slide && slide.description).toBe(
      'sliding window 64×64, stride 48, scales 0.75, 1 + flip',
    );
  });

  it('tiles whole-image inference of images (at their largest scale) over the limit', () => {
    const big = inferenceSettings(DEFAULT_INFERENCE, { width: WHOLE_IMAGE_LIMIT + 1, height: 600 });
    expect(big).toMatchObject({ mode: 'slide', crop: [512, 512] });
    expect('description' in big && big.description).toMatch(
      /\(tiled: over 1024 px for whole-image inference\)$/,
    );
    const scaled = inferenceSettings({ ...DEFAULT_INFERENCE, scales: '1,1.5' }, { width: 800, height: 600 });
    expect(scaled).toMatchObject({ mode: 'slide' });
    expect(inferenceSettings(DEFAULT_INFERENCE, { width: 1024, height: 1024 })).toMatchObject({
      mode: 'whole',
    });
  });

  it('names every bad field', () => {
    expect(parseScales('1,,2')).toEqual([1, 2]);
    expect(parseScales('0,1')).toMatch(/^scales must be numbers in \(0, 4\]/);
    expect(
      inferenceSettings(
        { mode: 'slide', crop: 16, stride: 20, scales: 'x', flip: false },
        { width: 9, height: 9 },
      ),
    ).toEqual({
      errors: [
        'scales must be numbers in (0, 4], separated by commas (got "x")',
        'crop must be a whole number of pixels from 32 to 2048',
        'stride must be a whole number from 1 to the crop',
      ],
    });
  });
});
