// A zip archive of stored (uncompressed) entries with each entry's data aligned to 64 bytes, as
// PyTorch's own writer lays out torch.save files (so that readers may map them).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const ALIGN = 64;

/** Writes the entries, in order, as one zip archive (no zip64: up to 4 GiB). */
export function writeStoredZip(entries: ReadonlyArray<{ name: string; data: Uint8Array }>): Uint8Array {
  const encoder = new TextEncoder();
  const layout: Array<{ name: Uint8Array; data: Uint8Array; crc: number; offset: number; pad: number }> = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const headerEnd = offset + 30 + name.length + 4; // an extra field of at least its own 4 bytes
    const pad = (ALIGN - (headerEnd % ALIGN)) % ALIGN;
    layout.push({ name, data: entry.data, crc: crc32(entry.data), offset, pad });
    offset = headerEnd + pad + entry.data.byteLength;
  }
  const centralStart = offset;
  const centralSize = layout.reduce((n, e) => n + 46 + e.name.length, 0);
  const total = centralStart + centralSize + 22;
  if (total >= 2 ** 32)
    throw new RangeError('writeStoredZip: archives over 4 GiB need zip64, which is not written');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (const e of layout) {
    let p = e.offset;
    view.setUint32(p, 0x04034b50, true);
    view.setUint16(p + 4, 20, true); // version needed
    view.setUint16(p + 8, 0, true); // stored
    view.setUint32(p + 14, e.crc, true);
    view.setUint32(p + 18, e.data.byteLength, true);
    view.setUint32(p + 22, e.data.byteLength, true);
    view.setUint16(p + 26, e.name.length, true);
    view.setUint16(p + 28, 4 + e.pad, true);
    out.set(e.name, p + 30);
    p += 30 + e.name.length;
    view.setUint16(p, 0x4246, true); // 'FB': PyTorch's padding field id
    view.setUint16(p + 2, e.pad, true);
    p += 4 + e.pad;
    out.set(e.data, p);
  }
  let p = centralStart;
  for (const e of layout) {
    view.setUint32(p, 0x02014b50, true);
    view.setUint16(p + 4, 20, true);
    view.setUint16(p + 6, 20, true);
    view.setUint32(p + 16, e.crc, true);
    view.setUint32(p + 20, e.data.byteLength, true);
    view.setUint32(p + 24, e.data.byteLength, true);
    view.setUint16(p + 28, e.name.length, true);
    view.setUint32(p + 42, e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
  }
  view.setUint32(p, 0x06054b50, true);
  view.setUint16(p + 8, layout.length, true);
  view.setUint16(p + 10, layout.length, true);
  view.setUint32(p + 12, centralSize, true);
  view.setUint32(p + 16, centralStart, true);
  return out;
}
