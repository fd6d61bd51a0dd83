import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  LOSS_COLOR,
  MIOU_COLOR,
  chartGeometry,
  drawChart,
  niceCeiling,
  renderChartPng,
} from '../src/render/chart.js';

const curves = {
  loss: [
    { step: 0, value: 3 },
    { step: 50, value: 1.5 },
    { step: 100, value: 0.5 },
  ],
  miou: [
    { step: 50, value: 0.3 },
    { step: 100, value: 0.6 },
  ],
};

describe('chart', () => {
  it('rounds the loss axis up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeiling(3)).toBe(5);
    expect(niceCeiling(0.42)).toBe(0.5);
    expect(niceCeiling(120)).toBe(200);
    expect(niceCeiling(1)).toBe(1);
    expect(niceCeiling(0)).toBe(1);
    expect(niceCeiling(Number.NaN)).toBe(1);
  });

  it('maps steps and values onto the plot area', () => {
    const g = chartGeometry(curves, 720, 400);
    expect(g.maxStep).toBe(100);
    expect(g.maxLoss).toBe(5);
    expect(g.x(0)).toBe(g.left);
    expect(g.x(100)).toBe(g.right);
    expect(g.yLoss(0)).toBe(g.bottom);
    expect(g.yLoss(5)).toBe(g.top);
    expect(g.yMiou(1)).toBe(g.top);
  });

  it('draws the loss line through its points and marks each mIoU', () => {
    const { raster, geometry: g } = drawChart(curves);
    const pixel = (x: number, y: number) => raster.getPixel(Math.round(x), Math.round(y)).slice(0, 3);
    // Midway along the first loss segment (step 25, loss 2.25).
    expect(pixel(g.x(25), g.yLoss(2.25))).toEqual([...LOSS_COLOR]);
    expect(pixel(g.x(50), g.yMiou(0.3))).toEqual([...MIOU_COLOR]);
    expect(pixel(g.x(100), g.yMiou(0.6))).toEqual([...MIOU_COLOR]);
    // Nothing drawn far from the data: the top-left plot corner is white or grid.
    const corner = pixel(g.left + 20, g.top + 5);
    expect(corner[0]).toBeGreaterThan(200);
  });

  it('skips non-finite losses instead of drawing them', () => {
    const { raster } = drawChart({
      loss: [
        { step: 0, value: Number.NaN },
        { step: 10, value: 1 },
      ],
      miou: [],
    });
    expect(raster.data.length).toBe(720 * 400 * 4);
  });

  it('encodes a PNG of the requested size', async () => {
    const png = await renderChartPng(curves, 640, 360);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 640, 360]);
  });
});
