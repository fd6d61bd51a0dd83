import { z } from 'zod';

/** The ResNet depths PSPNet is registered with (`pspnet-resnet50`, `pspnet-resnet101`). */
export type PspnetDepth = 50 | 101;

/** PSPNet options; defaults are the paper's and its reference code's (hszhao/semseg). */
export const pspnetConfigSchema = z.object({
  numClasses: z.number().int().min(2).max(255).default(21),
  /** Channel multiplier of the ResNet and the head (1 for ImageNet weights; smaller for tests). */
  width: z.number().positive().max(1).default(1),
  /** 8: layer3 and layer4 dilated (the paper); 16: layer4 only. */
  outputStride: z.union([z.literal(8), z.literal(16)]).default(8),
  /** Pyramid bin sizes (the paper's 1x1, 2x2, 3x3 and 6x6). */
  bins: z.array(z.number().int().min(1)).min(1).default([1, 2, 3, 6]),
  /** Dropout2d before both classifiers (the reference's 0.1). */
  dropout: z.number().min(0).lt(1).default(0.1),
  /** Weight of the auxiliary loss on layer3 (the paper's 0.4); 0 builds no auxiliary head. */
  auxWeight: z.number().min(0).default(0.4),
  /** Bilinear upsampling with aligned corners, as the reference (Caffe `Interp`, hszhao/semseg). */
  alignCorners: z.boolean().default(true),
  /** Frozen batch norm in the ResNet (statistics and affine kept as loaded); the paper trains it. */
  frozenBatchNorm: z.boolean().default(false),
});

export type PspnetConfig = z.input<typeof pspnetConfigSchema>;
export type ResolvedPspnetConfig = z.output<typeof pspnetConfigSchema>;
