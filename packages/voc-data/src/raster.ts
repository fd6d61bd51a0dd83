import type { Rgb } from './types.js';

/** An RGBA canvas (alpha 255) with the few primitives the overlay legend and the CLI's charts draw. */
export class Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray<ArrayBuffer>;

  constructor(width: number, height: number, background: Readonly<Rgb> = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.data = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      this.data[p * 4] = background[0];
      this.data[p * 4 + 1] = background[1];
      this.data[p * 4 + 2] = background[2];
      this.data[p * 4 + 3] = 255;
    }
  }

  setPixel(x: number, y: number, color: Readonly<Rgb>): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const o = (yi * this.width + xi) * 4;
    this.data[o] = color[0];
    this.data[o + 1] = color[1];
    this.data[o + 2] = color[2];
    this.data[o + 3] = 255;
  }

  getPixel(x: number, y: number): [number, number, number, number] {
    const o = (y * this.width + x) * 4;
    return [this.data[o]!, this.data[o + 1]!, this.data[o + 2]!, this.data[o + 3]!];
  }

  fillRect(x0: number, y0: number, w: number, h: number, color: Readonly<Rgb>): void {
    for (let y = Math.round(y0); y < Math.round(y0 + h); y++) {
      for (let x = Math.round(x0); x < Math.round(x0 + w); x++) this.setPixel(x, y, color);
    }
  }

  /** A rectangle's one-pixel outline. */
  strokeRect(x0: number, y0: number, w: number, h: number, color: Readonly<Rgb>): void {
    this.fillRect(x0, y0, w, 1, color);
    this.fillRect(x0, y0 + h - 1, w, 1, color);
    this.fillRect(x0, y0, 1, h, color);
    this.fillRect(x0 + w - 1, y0, 1, h, color);
  }

  /** Copies RGBA pixels (`width` x rows) in with their top-left corner at (x0, y0), clipped to the canvas. */
  putRgba(rgba: ArrayLike<number>, width: number, x0: number, y0: number): void {
    const height = Math.floor(rgba.length / 4 / width);
    for (let y = 0; y < height; y++) {
      const ty = y0 + y;
      if (ty < 0 || ty >= this.height) continue;
      for (let x = 0; x < width; x++) {
        const tx = x0 + x;
        if (tx < 0 || tx >= this.width) continue;
        const s = (y * width + x) * 4;
        const d = (ty * this.width + tx) * 4;
        for (let c = 0; c < 4; c++) this.data[d + c] = rgba[s + c]!;
      }
    }
  }

  /** A line `thickness` pixels wide (a square brush stepped along the longer axis). */
  line(x0: number, y0: number, x1: number, y1: number, color: Readonly<Rgb>, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = (thickness - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      for (let dy = -half; dy <= half; dy++)
        for (let dx = -half; dx <= half; dx++) this.setPixel(x + dx, y + dy, color);
    }
  }
}
