import { z } from 'zod';

export type FcDenseNetVariant = '56' | '67' | '103';

/** The paper's Table 2 and Sec. 4: growth rate and layers per dense block (down, bottleneck, up). */
export const VARIANTS: Record<FcDenseNetVariant, { growthRate: number; layersPerBlock: number[] }> = {
  '56': { growthRate: 12, layersPerBlock: Array(11).fill(4) },
  '67': { growthRate: 16, layersPerBlock: Array(11).fill(5) },
  '103': { growthRate: 16, layersPerBlock: [4, 5, 7, 10, 12, 15, 12, 10, 7, 5, 4] },
};

/**
 * FC-DenseNet options with a variant's defaults (Jégou et al. 2017; the authors' Lasagne code,
 * SimJeg/FC-DenseNet): CamVid's 11 classes, first convolution of 48 channels, 5 transitions down,
 * dropout 0.2 after every convolution.
 */
export function fcDenseNetConfigSchema(variant: FcDenseNetVariant) {
  const defaults = VARIANTS[variant];
  return z
    .object({
      numClasses: z.number().int().min(2).max(255).default(11),
      inChannels: z.number().int().min(1).default(3),
      /** New feature maps per dense layer (k). */
      growthRate: z.number().int().min(1).default(defaults.growthRate),
      /** Layers of each dense block: `pools` down, the bottleneck, `pools` up (2 * pools + 1). */
      layersPerBlock: z.array(z.number().int().min(1)).min(3).default(defaults.layersPerBlock),
      firstConvChannels: z.number().int().min(1).default(48),
      dropout: z.number().min(0).lt(1).default(0.2),
    })
    .refine((c) => c.layersPerBlock.length % 2 === 1, {
      message:
        'layersPerBlock needs an odd length: one block per transition down, the bottleneck, one per transition up',
      path: ['layersPerBlock'],
    });
}

export type FcDenseNetConfig = z.input<ReturnType<typeof fcDenseNetConfigSchema>>;
export type ResolvedFcDenseNetConfig = z.output<ReturnType<typeof fcDenseNetConfigSchema>>;
