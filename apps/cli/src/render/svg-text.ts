import sharp from 'sharp';

/** Escapes text for an SVG text node. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Fonts librsvg may find; with none installed it draws no glyphs rather than failing. */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/**
 * Draws an SVG (text: the pictures' shapes are in the raster already) over an RGBA raster with
 * sharp and returns a PNG. When the SVG cannot be rendered (a librsvg without fonts or with a
 * broken fontconfig), the raster alone: a picture without labels beats no picture.
 */
export async function compositeSvgToPng(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  svg: string,
): Promise<Buffer> {
  const base = () => sharp(rgba, { raw: { width, height, channels: 4 } });
  try {
    return await base()
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      .png()
      .toBuffer();
  } catch {
    return base().png().toBuffer();
  }
}
