/** An RGB colour, 0..255 each. */
export type Rgb = [number, number, number];

/**
 * How images must be prepared for a model, as its weights were trained (the same shape as
 * `@semseg/core`'s `Normalization`, so a checkpoint's field can be passed straight in).
 */
export interface Normalization {
  /** Per-channel mean, in the `scale` units, in RGB order whatever `channelOrder` says. */
  mean: [number, number, number];
  /** Per-channel standard deviation, in the `scale` units, in RGB order. */
  std: [number, number, number];
  /** 255: pixels stay 0..255 before mean/std (Caffe); 1: pixels are divided by 255 first (PyTorch). */
  scale: 1 | 255;
  /** Channel order the network expects (Caffe and Keras VGG16 weights are BGR). */
  channelOrder: 'rgb' | 'bgr';
}

/**
 * An image with its label map. `image` is RGB, row-major HWC (`height * width * 3`), 0..255 whether
 * bytes (decoded) or floats (resampled); `label` holds `height * width` class indices, 255 = ignore.
 */
export interface Sample {
  width: number;
  height: number;
  image: Uint8Array | Float32Array;
  label: Uint8Array;
  /**
   * Instance id per pixel (0: no instance), when asked for: U-Net's weight map needs to tell
   * touching objects of one class apart. Transformed with the label (nearest neighbour).
   */
  instances?: Uint16Array;
}

/** Which part of an id list this process handles: ids whose position `% count === index`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Where a pass over the data stands: the next sample to use is `order(epoch)[index]`. */
export interface DataPosition {
  epoch: number;
  index: number;
}
