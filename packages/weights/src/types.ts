/** The producers whose files `readWeights` recognises. */
export type WeightFormat = 'safetensors' | 'pytorch' | 'caffe' | 'keras' | 'tfjs';

/** One tensor of a foreign file, decoded only when asked (files can be larger than memory allows twice). */
export interface ForeignTensor {
  /** The file's element type: `F32`, `F16`, `BF16`, `I64`... (safetensors spelling). */
  dtype: string;
  /** The file's shape (PyTorch NCHW / OIHW, Caffe N x C x H x W, Keras HWIO). */
  shape: number[];
  /** The values in C order as float32 (a fresh array each call). */
  toFloat32(): Float32Array;
  /**
   * `count` values from element `start` (C order) as float32, read from the source only as far
   * as needed, where the format stores the tensor contiguously: layout conversions go in chunks.
   */
  readRange?(start: number, count: number): Float32Array;
}

/** A read weights file: its tensors by the file's own names. */
export interface WeightFile {
  /** The path or name it was read from, for messages. */
  file: string;
  format: WeightFormat;
  tensors: Map<string, ForeignTensor>;
  /**
   * Caffe: the layer types by layer name (`Convolution`, `Deconvolution`, `InnerProduct`...), so
   * that an importer can tell what the file's net was.
   */
  layerTypes?: Map<string, string>;
}

/** Where the bytes of a file come from: a buffer in memory, or positioned reads of a file (Node). */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes from `offset` (a view where the source is in memory, a fresh buffer otherwise). */
  read(offset: number, length: number): Uint8Array;
}

/** A ByteSource over bytes in memory: reads are views, never copies. */
export function memorySource(data: Uint8Array): ByteSource {
  return {
    size: data.byteLength,
    read: (offset, length) => data.subarray(offset, offset + length),
  };
}
