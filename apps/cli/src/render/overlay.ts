import { type LegendText, type Rgb, type RgbPixels, overlayPicture } from '@semseg/voc-data';
import { FONT_FAMILY, compositeSvgToPng, escapeXml } from './svg-text.js';

// The picture is @semseg/voc-data's overlayPicture, the one the web page draws too; the CLI adds
// only the legend's text (librsvg through sharp) and the PNG encoding.

function legendTextSvg(width: number, height: number, texts: readonly LegendText[]): string {
  const items = texts.map(
    (t) =>
      `<text x="${t.x}" y="${t.y}" font-family="${FONT_FAMILY}" font-size="${t.fontSize}" fill="#111">${escapeXml(t.text)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${items.join('')}</svg>`;
}

/**
 * The overlay PNG: the image blended with its predicted class colours, with a legend of the
 * classes present (colour, name, share of pixels) below it. `palette` should be complete
 * (`completePalette(meta.palette)`) so that every label has a colour.
 */
export async function renderOverlay(
  image: RgbPixels,
  labels: Uint8Array,
  classes: readonly string[],
  palette: readonly Rgb[],
  alpha = 0.5,
): Promise<Buffer> {
  const picture = overlayPicture(image, labels, classes, palette, alpha);
  // Without a usable font, librsvg may fail on the text: the swatches are in the pixels already.
  return compositeSvgToPng(
    picture.rgba,
    picture.width,
    picture.height,
    legendTextSvg(picture.width, picture.height, picture.texts),
  );
}
