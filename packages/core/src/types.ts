/** How images must be prepared for a model, as its weights were trained. */
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

/** ImageNet statistics as torchvision uses them. */
export const IMAGENET_NORMALIZATION: Normalization = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  scale: 1,
  channelOrder: 'rgb',
};

/** Caffe's VGG16 preprocessing (also Keras' `vgg16.preprocess_input`): BGR, mean subtraction on 0..255. */
export const CAFFE_VGG_NORMALIZATION: Normalization = {
  mean: [123.68, 116.779, 103.939],
  std: [1, 1, 1],
  scale: 255,
  channelOrder: 'bgr',
};

/** An RGB colour, 0..255 each. */
export type Rgb = [number, number, number];

/** Which architecture a checkpoint holds and how it was configured. */
export interface ArchitectureSpec {
  name: string;
  config: Record<string, unknown>;
}

/** The label value that means "no label" everywhere: loss, metrics and augmentation padding. */
export const IGNORE_INDEX = 255;
