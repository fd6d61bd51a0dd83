import { z } from 'zod';

/** U-Net options; defaults are the paper's (Ronneberger, Fischer & Brox 2015, Fig. 1). */
export const unetConfigSchema = z.object({
  /** The paper segments cells from background: 2 classes. */
  numClasses: z.number().int().min(2).max(255).default(2),
  /** Image channels (the paper's microscopy images are grey, 1; the engine feeds RGB, 3). */
  inChannels: z.number().int().min(1).default(3),
  /**
   * 'valid': unpadded 3x3 convolutions and centre-cropped skips, the output smaller than the input
   * (572 -> 388); 'same': padded convolutions, output = input.
   */
  padding: z.enum(['valid', 'same']).default('valid'),
  /** Contracting steps (poolings): 4 in the paper. */
  depth: z.number().int().min(1).max(6).default(4),
  /** Channels of the first step, doubled at each one (64 ... 1024 at the bottom). */
  baseChannels: z.number().int().min(1).default(64),
  /** Channel multiplier (1 for the paper's 64..1024; smaller for tests and CPU runs). */
  width: z.number().positive().max(1).default(1),
  /** Batch norm after each 3x3 convolution (not in the paper; convolutions then lose their bias). */
  batchNorm: z.boolean().default(false),
  /** Dropout "at the end of the contracting path" (paper, Sec. 3.1), on the bottom features. */
  dropout: z.number().min(0).lt(1).default(0.5),
});

export type UNetConfig = z.input<typeof unetConfigSchema>;
export type ResolvedUNetConfig = z.output<typeof unetConfigSchema>;
