/** A small RGBA canvas with the few primitives the charts need. */
export class Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;

  constructor(
    width: number,
    height: number,
    background: readonly [number, number, number] = [255, 255, 255],
  ) {
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      this.data.set([background[0], background[1], background[2], 255], p * 4);
    }
  }

  setPixel(x: number, y: number, color: readonly [number, number, number]): void {
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

  fillRect(x0: number, y0: number, w: number, h: number, color: readonly [number, number, number]): void {
    for (let y = Math.round(y0); y < Math.round(y0 + h); y++) {
      for (let x = Math.round(x0); x < Math.round(x0 + w); x++) this.setPixel(x, y, color);
    }
  }

  /** A line `thickness` pixels wide (a square brush stepped along the longer axis). */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: readonly [number, number, number],
    thickness = 1,
  ): void {
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
