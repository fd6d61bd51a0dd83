import { z } from 'zod';

export type FcnVariant = '32s' | '16s' | '8s';

/** FCN options; defaults are the reference's (Long, Shelhamer & Darrell; the voc-fcn* Caffe nets). */
export const fcnConfigSchema = z.object({
  numClasses: z.number().int().min(2).max(255).default(21),
  /** VGG16 channel multiplier (1 for ImageNet weights; smaller for tests and CPU runs). */
  width: z.number().positive().max(1).default(1),
  /**
   * 'reference': conv1_1 padding 100, fc6 7x7 'valid', upsampling without padding and Caffe's crop
   * offsets, so any input size works exactly as the reference. 'compact': the input is padded to
   * a multiple of 32, conv1_1 padding 1, fc6 'same', upsampling with padding s/2: the same
   * alignment (all crops 0) at a fraction of the cost on small inputs.
   */
  alignment: z.enum(['reference', 'compact']).default('reference'),
  /** The reference keeps the bilinear upsampling layers fixed; true trains them. */
  learnableUpsampling: z.boolean().default(false),
  /** FCN-8s "at-once": pool4 scaled by 0.01 and pool3 by 0.0001 before their score layers. */
  atOnce: z.boolean().default(false),
  /** Dropout after fc6 and fc7. */
  dropout: z.number().min(0).lt(1).default(0.5),
  /** Per value as the reference's Caffe Dropout layers, or per channel (Dropout2d). */
  dropoutMode: z.enum(['element', 'channel']).default('element'),
  /** VGG16 with batch norm (not in the paper; for training from scratch). */
  batchNorm: z.boolean().default(false),
});

export type FcnConfig = z.input<typeof fcnConfigSchema>;
export type ResolvedFcnConfig = z.output<typeof fcnConfigSchema>;
