/** Image formats the page decodes with the browser, recognised by their first bytes. */
export type ImageKind = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp';

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((value, i) => bytes[offset + i] === value);
}

/** The image format of a file's first bytes, or null when they are no image format we read. */
export function sniffImageKind(head: Uint8Array): ImageKind | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (startsWith(head, [0x52, 0x49, 0x46, 0x46]) && startsWith(head, [0x57, 0x45, 0x42, 0x50], 8))
    return 'webp';
  if (startsWith(head, [0x42, 0x4d])) return 'bmp';
  return null;
}

/** What a non-image file looks like, so the message can say more than "not an image". */
export function describeContent(head: Uint8Array): string {
  if (head.length === 0) return 'it is empty';
  if (startsWith(head, [0x25, 0x50, 0x44, 0x46])) return 'it looks like a PDF';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'it looks like a ZIP archive';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 64)).trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'it looks like JSON';
  if (text.startsWith('<')) return 'it looks like HTML or XML';
  const printable = head
    .subarray(0, 64)
    .every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable ? 'it looks like text' : 'its content is no image format the page reads';
}

/** Throws an explained error unless `head` (a file's first bytes) starts an image we can decode. */
export function requireImage(head: Uint8Array, fileName: string): ImageKind {
  const kind = sniffImageKind(head);
  if (kind) return kind;
  throw new ImageFileError(
    `${fileName} is not an image (${describeContent(head)}); choose a PNG, JPEG, WebP, GIF or BMP file`,
  );
}

/** A chosen file that the page cannot use as an image. */
export class ImageFileError extends Error {
  override readonly name = 'ImageFileError';
}

/** Whether a dropped/chosen file is a checkpoint part (model.json / *.bin) rather than an image. */
export function isCheckpointPart(fileName: string): boolean {
  return /\.json$/i.test(fileName) || /\.bin$/i.test(fileName);
}

/** Whether a file is another framework's trained weights (PyTorch, safetensors, Caffe) by its name. */
export function isWeightsFile(fileName: string): boolean {
  return /\.(pth|pt|safetensors|caffemodel)$/i.test(fileName);
}
