import { describe, expect, it } from 'vitest';
import { pointerToPixel, readPixel } from '../src/hover.js';

const classes = ['background', 'cat', 'dog'];

describe('hover lookup', () => {
  const map = {
    width: 3,
    height: 2,
    numClasses: 3,
    labels: new Uint8Array([0, 1, 2, 2, 1, 0]),
    probabilities: new Float32Array([
      0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.3, 0.6, 0.1, 0.9, 0.05, 0.05,
    ]),
  };

  it('maps a pointer on a stretched canvas to the image pixel', () => {
    const box = { left: 100, top: 50, width: 300, height: 200 }; // 100 css px per image pixel
    expect(pointerToPixel(box, 100, 50, 3, 2)).toEqual({ x: 0, y: 0 });
    expect(pointerToPixel(box, 299.9, 149.9, 3, 2)).toEqual({ x: 1, y: 0 });
    expect(pointerToPixel(box, 300, 150, 3, 2)).toEqual({ x: 2, y: 1 });
    expect(pointerToPixel(box, 399.99, 249.99, 3, 2)).toEqual({ x: 2, y: 1 });
    expect(pointerToPixel(box, 400, 100, 3, 2)).toBeNull();
    expect(pointerToPixel(box, 99, 100, 3, 2)).toBeNull();
    expect(pointerToPixel({ left: 0, top: 0, width: 0, height: 0 }, 0, 0, 3, 2)).toBeNull();
  });

  it("reads the pixel's class and the probability of that class", () => {
    const reading = readPixel(map, classes, 1, 1);
    expect(reading.classIndex).toBe(1);
    expect(reading.className).toBe('cat');
    expect(reading.probability).toBeCloseTo(0.6, 6);
    expect(readPixel(map, classes, 2, 0).probability).toBeCloseTo(0.5, 6);
    expect(() => readPixel(map, classes, 3, 0)).toThrow(RangeError);
  });
});
