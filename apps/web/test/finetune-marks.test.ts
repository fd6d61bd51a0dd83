// The brush, the eraser, label PNGs as marks, and the panel's drawing helpers.
import { encodeLabelPng } from '@semseg/voc-data';
import { describe, expect, it } from 'vitest';
import { Marks, agreementOnMarks, marksFromLabelPng } from '../src/finetune/marks.js';
import { composeLayers, lossCurvePoints } from '../src/finetune/render.js';

describe('marks', () => {
  it('start unmarked (255) and stamp exact discs', () => {
    const marks = new Marks(9, 9);
    expect(marks.labels.every((v) => v === 255)).toBe(true);
    marks.stamp(4.5, 4.5, 2, 3);
    // Pixel centres within 2 of (4.5, 4.5): 13 pixels (a radius-2 lattice disc).
    const marked = [...marks.labels.keys()].filter((i) => marks.labels[i] === 3);
    expect(marked.length).toBe(13);
    expect(marks.labels[4 * 9 + 4]).toBe(3);
    expect(marks.labels[2 * 9 + 4]).toBe(3);
    expect(marks.labels[2 * 9 + 3]).toBe(255);
    expect(marks.counts()).toEqual({ marked: 13, perClass: new Map([[3, 13]]) });
  });

  it('the eraser unmarks, strokes join discs, clear unmarks all, and edges clip', () => {
    const marks = new Marks(20, 5);
    marks.stroke({ x: 0, y: 2.5 }, { x: 20, y: 2.5 }, 1, 1);
    for (let x = 0; x < 20; x++) expect(marks.labels[2 * 20 + x]).toBe(1);
    marks.stamp(10.5, 2.5, 1, 255);
    expect(marks.labels[2 * 20 + 10]).toBe(255);
    marks.stamp(-3, -3, 1, 2); // off the image: nothing
    expect(marks.counts().perClass.has(2)).toBe(false);
    marks.clear();
    expect(marks.counts().marked).toBe(0);
  });

  it('reads a VOC label PNG (value = class, 255 = ignore) and names the file when it does not fit', () => {
    const labels = Uint8Array.from([0, 1, 255, 2, 2, 255]);
    const png = encodeLabelPng(labels, 3, 2);
    expect([...marksFromLabelPng(png, 'a.png', { width: 3, height: 2 }, 3).labels]).toEqual([...labels]);
    expect(() => marksFromLabelPng(png, 'a.png', { width: 2, height: 3 }, 3)).toThrow(
      'a.png: the label PNG is 3x2 but the image is 2x3',
    );
    expect(() => marksFromLabelPng(png, 'a.png', { width: 3, height: 2 }, 2)).toThrow(
      /a\.png: label holds index 2/,
    );
  });

  it('agreement counts marked pixels only', () => {
    expect(agreementOnMarks(Uint8Array.from([1, 255, 2, 2]), Uint8Array.from([1, 0, 0, 2]))).toBeCloseTo(
      2 / 3,
    );
    expect(agreementOnMarks(Uint8Array.from([255]), Uint8Array.from([0]))).toBeNaN();
  });
});

describe('drawing', () => {
  it('blends the prediction, then the marks, over the image', () => {
    const out = composeLayers({
      rgb: Uint8Array.from([100, 100, 100, 0, 0, 0]),
      width: 2,
      height: 1,
      prediction: Uint8Array.from([1, 1]),
      predictionOpacity: 0.5,
      marks: Uint8Array.from([255, 0]),
      marksOpacity: 1,
      palette: [
        [10, 20, 30],
        [200, 0, 100],
      ],
    });
    expect([...out]).toEqual([150, 50, 100, 255, 10, 20, 30, 255]);
  });

  it('puts the loss curve in its box, the largest loss at the top', () => {
    expect(lossCurvePoints([], 10, 100, 50)).toBe('');
    expect(lossCurvePoints([2, 1, 0.5], 5, 100, 50)).toBe('0.0,0.0 25.0,25.0 50.0,37.5');
  });
});
