import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX, VOC_CLASSES, colorizeLabels, vocColorMap } from '../src/index.js';

describe('VOC classes and colour map', () => {
  it('has the 21 classes in devkit order', () => {
    expect(VOC_CLASSES).toHaveLength(21);
    expect(VOC_CLASSES[0]).toBe('background');
    expect(VOC_CLASSES[15]).toBe('person');
    expect(VOC_CLASSES[20]).toBe('tvmonitor');
    expect(IGNORE_INDEX).toBe(255);
  });

  it('matches the devkit colour map (VOClabelcolormap.m)', () => {
    const map = vocColorMap();
    expect(map).toHaveLength(256);
    // Values from the devkit's published palette.
    expect(map[0]).toEqual([0, 0, 0]);
    expect(map[1]).toEqual([128, 0, 0]);
    expect(map[2]).toEqual([0, 128, 0]);
    expect(map[3]).toEqual([128, 128, 0]);
    expect(map[4]).toEqual([0, 0, 128]);
    expect(map[8]).toEqual([64, 0, 0]);
    expect(map[15]).toEqual([192, 128, 128]);
    expect(map[20]).toEqual([0, 64, 128]);
    expect(map[255]).toEqual([224, 224, 192]);
    expect(new Set(map.map((c) => c.join(','))).size).toBe(256);
  });

  it('colourises labels as RGBA', () => {
    const rgba = colorizeLabels(new Uint8Array([0, 15, 255]));
    expect([...rgba]).toEqual([0, 0, 0, 255, 192, 128, 128, 255, 224, 224, 192, 255]);
  });
});
