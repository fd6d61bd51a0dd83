// The overlay picture as a PNG: @semseg/voc-data's pixels (the blended image, the legend's
// swatches), the legend's text drawn by the canvas where the CLI uses librsvg.
import type { OverlayPicture } from '@semseg/voc-data';

export async function overlayPng(picture: OverlayPicture): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(picture.width, picture.height);
  const context = canvas.getContext('2d')!;
  context.putImageData(new ImageData(picture.rgba, picture.width, picture.height), 0, 0);
  context.fillStyle = '#111';
  for (const text of picture.texts) {
    context.font = `${text.fontSize}px "DejaVu Sans", Arial, sans-serif`;
    context.fillText(text.text, text.x, text.y);
  }
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}
