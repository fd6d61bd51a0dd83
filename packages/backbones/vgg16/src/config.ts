import { z } from 'zod';

/**
 * VGG16 options. Defaults are the classic network as FCN and DeconvNet use it (Caffe: ceil-mode
 * pooling, fc6 7x7x4096, fc7 1x1x4096, dropout 0.5, output stride 32).
 */
export const vgg16ConfigSchema = z.object({
  /** Batch norm after every conv (DeconvNet's encoder). */
  batchNorm: z.boolean().default(false),
  /** Caffe rounds pooled sizes up; Keras/PyTorch down. */
  ceilMode: z.boolean().default(true),
  /**
   * 32: the plain network. 16: pool5 becomes 3x3 stride 1 pad 1 and what follows is dilated x2.
   * 8: pool4 too; conv5 is dilated 2 and fc6 x4 (DeepLab).
   */
  outputStride: z.union([z.literal(8), z.literal(16), z.literal(32)]).default(32),
  /** Strided pooling windows: VGG's 2x2 stride 2, or DeepLab's 3x3 stride 2 pad 1. */
  pool: z.enum(['2x2', '3x3']).default('2x2'),
  /**
   * What becomes of pool4/pool5 when the output stride removes their stride: DeepLab's 3x3 stride
   * 1 pad 1 max pools ('max3x3'), or no pooling layer at all ('none': Yu & Koltun's front-end).
   */
  unstridedPool: z.enum(['max3x3', 'none']).default('max3x3'),
  /**
   * The 13 convs' padding: 'same' (pad = dilation; conv1_1 takes `conv1Padding`), or 'valid' (no
   * padding anywhere, as Yu & Koltun's released front-end, which pads the input instead).
   */
  convPadding: z.enum(['same', 'valid']).default('same'),
  /**
   * fc6/fc7 as convolutions: '7x7' (FCN, DeconvNet: 7x7x4096 then 1x1x4096), 'largefov' (DeepLab:
   * 3x3x1024 with dilation `fc6Dilation`, then 1x1x1024), or 'none' (SegNet).
   */
  fc: z.enum(['7x7', 'largefov', 'none']).default('7x7'),
  /** fc6's atrous rate. Default: 12 for 'largefov', the output-stride factor (1, 2 or 4) for '7x7'. */
  fc6Dilation: z.number().int().positive().optional(),
  /** fc6's padding: default 'valid' for '7x7' (the reference), 'same' for 'largefov'. */
  fc6Padding: z.enum(['valid', 'same']).optional(),
  /** Dropout after fc6 and fc7 (0 to disable). */
  dropout: z.number().min(0).lt(1).default(0.5),
  /** Per value as Caffe's Dropout layer ('element', the papers'), or per channel (Dropout2d). */
  dropoutMode: z.enum(['element', 'channel']).default('element'),
  /** Channel multiplier for tests and small CPU runs (ImageNet weights need 1). */
  width: z.number().positive().max(1).default(1),
  /** conv1_1's padding: 1, or 100 as the FCN reference does so that any input size survives fc6. */
  conv1Padding: z.number().int().nonnegative().default(1),
  inChannels: z.number().int().positive().default(3),
});

export type VGG16Config = z.input<typeof vgg16ConfigSchema>;
export type ResolvedVGG16Config = z.output<typeof vgg16ConfigSchema>;

/** Channels of the 13 convs at width 1, block by block. */
export const VGG16_BLOCKS: ReadonlyArray<readonly number[]> = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

export function scaledChannels(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}
