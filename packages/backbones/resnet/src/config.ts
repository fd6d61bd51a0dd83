import { z } from 'zod';

/** The depths torchvision builds and their blocks per stage (He et al. 2016, Table 1). */
export const RESNET_LAYERS = {
  18: [2, 2, 2, 2],
  34: [3, 4, 6, 3],
  50: [3, 4, 6, 3],
  101: [3, 4, 23, 3],
  152: [3, 8, 36, 3],
} as const;

export type ResNetDepth = keyof typeof RESNET_LAYERS;

/** ResNet options; the defaults are torchvision's `resnet50()` without its classifier. */
export const resnetConfigSchema = z.object({
  depth: z.union([z.literal(18), z.literal(34), z.literal(50), z.literal(101), z.literal(152)]).default(50),
  /**
   * torchvision's `replace_stride_with_dilation` for layer2, layer3, layer4: the stride of that
   * stage becomes a dilation of the stages after. [false, false, true] gives output stride 16,
   * [false, true, true] 8 (what the segmentation models use). Bottleneck depths only.
   */
  replaceStrideWithDilation: z.tuple([z.boolean(), z.boolean(), z.boolean()]).default([false, false, false]),
  /** torchvision's FrozenBatchNorm2d everywhere: statistics and affine parameters stay as loaded. */
  frozenBatchNorm: z.boolean().default(false),
  /** The ImageNet classifier `fc` after global average pooling (torchvision: 1000); null: none. */
  numClasses: z.number().int().positive().nullable().default(null),
  /** Channel multiplier for tests and small CPU runs (names do not change; ImageNet weights need 1). */
  width: z.number().positive().max(1).default(1),
});

export type ResNetConfig = z.input<typeof resnetConfigSchema>;
export type ResolvedResNetConfig = z.output<typeof resnetConfigSchema>;

/** `replaceStrideWithDilation` for an output stride of 32, 16 or 8. */
export function dilationForOutputStride(outputStride: 8 | 16 | 32): [boolean, boolean, boolean] {
  return [false, outputStride === 8, outputStride !== 32];
}

export function scaledChannels(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}
