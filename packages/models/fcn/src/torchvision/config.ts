import { z } from 'zod';

/** Options of torchvision's ResNet segmentation models; defaults are its builders' (VOC's 21 classes). */
export const torchvisionResNetSegConfigSchema = z.object({
  numClasses: z.number().int().positive().default(21),
  /**
   * The auxiliary FCNHead on layer3 (torchvision's `aux_loss`; its published checkpoints have it):
   * trained with weight 0.5, never run at inference. False: a file's `aux_classifier.*` is ignored.
   */
  auxLoss: z.boolean().default(true),
  /** torchvision's FrozenBatchNorm2d in the backbone (fine-tuning with small batches). */
  frozenBatchNorm: z.boolean().default(false),
  /** Channel multiplier for tests and small CPU runs (names do not change; trained weights need 1). */
  width: z.number().positive().max(1).default(1),
});

export type TorchvisionResNetSegConfig = z.input<typeof torchvisionResNetSegConfigSchema>;
export type ResolvedTorchvisionResNetSegConfig = z.output<typeof torchvisionResNetSegConfigSchema>;
