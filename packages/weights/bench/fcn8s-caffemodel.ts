// Writes a voc-fcn8s-shaped caffemodel (V2 `layer`, BlobShape, 134M float32 values: 537 MB)
// with seeded values, streamed to disk; for the memory bench, never committed.
import { closeSync, openSync, writeSync } from 'node:fs';
import protobuf from 'protobufjs';

/** voc-fcn8s's learned layers: [name, type, weight shape in Caffe's layout, has bias]. */
export const FCN8S_LAYERS: ReadonlyArray<readonly [string, string, number[], boolean]> = (() => {
  const convs: Array<[string, number, number]> = [];
  const blocks = [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ];
  let cin = 3;
  blocks.forEach((block, b) =>
    block.forEach((cout, i) => {
      convs.push([`conv${b + 1}_${i + 1}`, cin, cout]);
      cin = cout;
    }),
  );
  const c = 21;
  return [
    ...convs.map(([n, i, o]) => [n, 'Convolution', [o, i, 3, 3], true] as const),
    ['fc6', 'Convolution', [4096, 512, 7, 7], true],
    ['fc7', 'Convolution', [4096, 4096, 1, 1], true],
    ['score_fr', 'Convolution', [c, 4096, 1, 1], true],
    ['upscore2', 'Deconvolution', [c, c, 4, 4], false],
    ['score_pool4', 'Convolution', [c, 512, 1, 1], true],
    ['upscore_pool4', 'Deconvolution', [c, c, 4, 4], false],
    ['score_pool3', 'Convolution', [c, 256, 1, 1], true],
    ['upscore8', 'Deconvolution', [c, c, 16, 16], false],
  ];
})();

const root = protobuf.parse(`
syntax = "proto2";
message BlobShape { repeated int64 dim = 1 [packed = true]; }
message LayerHead { optional string name = 1; optional string type = 2; }
`).root;
const BlobShape = root.lookupType('BlobShape');
const LayerHead = root.lookupType('LayerHead');

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** A BlobProto's bytes before its values: shape (7) and the data (5) field's tag and length. */
function blobHead(shape: number[]): { head: Uint8Array; values: number } {
  const count = shape.reduce((a, b) => a * b, 1);
  const shapeBytes = BlobShape.encode(BlobShape.create({ dim: shape })).finish();
  const head = [0x3a, ...varint(shapeBytes.length), ...shapeBytes, 0x2a, ...varint(count * 4)];
  return { head: Uint8Array.from(head), values: count };
}

export function writeFcn8sCaffemodel(path: string): number {
  const fd = openSync(path, 'w');
  let size = 0;
  const write = (bytes: Uint8Array) => {
    writeSync(fd, bytes);
    size += bytes.byteLength;
  };
  let seed = 12345;
  const chunk = new Float32Array(1 << 20);
  const values = (count: number) => {
    for (let done = 0; done < count; done += chunk.length) {
      const n = Math.min(chunk.length, count - done);
      for (let i = 0; i < n; i++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        chunk[i] = (seed / 2 ** 32 - 0.5) * 0.02;
      }
      write(new Uint8Array(chunk.buffer, 0, n * 4));
    }
  };
  for (const [name, type, shape, bias] of FCN8S_LAYERS) {
    const head = LayerHead.encode(LayerHead.create({ name, type })).finish();
    const blobs = [blobHead(shape), ...(bias ? [blobHead([shape[0]!])] : [])];
    const blobLength = (b: { head: Uint8Array; values: number }) => b.head.length + b.values * 4;
    const layerLength =
      head.length + blobs.reduce((n, b) => n + 1 + varint(blobLength(b)).length + blobLength(b), 0);
    write(Uint8Array.from([0xa2, 0x06, ...varint(layerLength)])); // NetParameter.layer = 100
    write(head);
    for (const b of blobs) {
      write(Uint8Array.from([0x3a, ...varint(blobLength(b))])); // LayerParameter.blobs = 7
      write(b.head);
      values(b.values);
    }
  }
  closeSync(fd);
  return size;
}
