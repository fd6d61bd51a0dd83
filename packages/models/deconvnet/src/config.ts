import { z } from 'zod';

/**
 * DeconvNet options. Defaults are the network of Noh, Hong & Han (2015) as the seed's PyTorch code
 * writes it: VGG16 with batch norm, fc6 7x7 'valid', fc7 1x1, channel dropout 0.2, mirrored decoder.
 */
export const deconvnetConfigSchema = z.object({
  numClasses: z.number().int().min(2).max(255).default(21),
  /** Channel multiplier of every layer (1 is the paper's; smaller for tests and CPU runs). */
  width: z.number().positive().max(1).default(1),
  /**
   * fc6's padding: 'valid' as the paper (inputs of 193 px or more: pool5 must be at least 7x7),
   * 'same' so that crops smaller than 224 train; the 7x7 deconvolution after fc7 follows suit.
   */
  fc6Padding: z.enum(['valid', 'same']).default('valid'),
  /** Dropout2d after fc6 and fc7 (the seed's nn.Dropout2d(0.2)). */
  dropout: z.number().min(0).lt(1).default(0.2),
});

export type DeconvNetConfig = z.input<typeof deconvnetConfigSchema>;
export type ResolvedDeconvNetConfig = z.output<typeof deconvnetConfigSchema>;

/**
 * SegNet options. 'vgg16' is the SegNet of Badrinarayanan, Kendall & Cipolla (TPAMI 2017): the
 * 13 convs of VGG16 with batch norm, decoder mirroring them. 'basic' is their SegNet-Basic: an
 * LRN on the input, then 4 levels of 7x7 conv (64) + BN + ReLU + pool, and a decoder of
 * unpooling + 7x7 conv (64) + BN without ReLU, with a 1x1 classifier (segnet_basic_train.prototxt).
 */
export const segnetConfigSchema = z.object({
  numClasses: z.number().int().min(2).max(255).default(21),
  variant: z.enum(['vgg16', 'basic']).default('vgg16'),
  width: z.number().positive().max(1).default(1),
});

export type SegNetConfig = z.input<typeof segnetConfigSchema>;
export type ResolvedSegNetConfig = z.output<typeof segnetConfigSchema>;

/**
 * The seed's decoder channel plan at width 1, block 5 first: each block's transposed convs, the
 * last one narrowing to the next block's width (D_conv5_1 .. D_conv1_2).
 */
export const DECONV_BLOCKS: ReadonlyArray<readonly number[]> = [
  [512, 512, 512],
  [512, 512, 256],
  [256, 256, 128],
  [128, 64],
  [64, 64],
];

/** Parses a config with the schema; the error names every bad field. */
export function parseConfig<T>(
  schema: z.ZodType<T>,
  config: unknown,
  what: string,
  fail: (message: string) => Error,
): T {
  const parsed = schema.safeParse(config ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw fail(`invalid ${what} config: ${issues.join('; ')}`);
  }
  return parsed.data;
}
