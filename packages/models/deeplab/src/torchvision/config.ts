import { ConfigError } from '@semseg/core';
import { torchvisionResNetSegConfigSchema } from '@semseg/fcn';
import { z } from 'zod';

/** deeplabv3-mobilenetv3-large: torchvision's builder options (VOC's 21 classes, aux head on C2). */
export const torchvisionMobileNetSegConfigSchema = z.object({
  numClasses: z.number().int().positive().default(21),
  /** The auxiliary FCNHead on features[4] (stride 8), as torchvision's `aux_loss`. */
  auxLoss: z.boolean().default(true),
  /** torchvision's `width_mult` of the backbone (names do not change; trained weights need 1). */
  width: z.number().positive().max(1).default(1),
});

/** lraspp-mobilenetv3-large: no auxiliary head in torchvision. */
export const lrasppConfigSchema = z.object({
  numClasses: z.number().int().positive().default(21),
  /** The head's inner channels (torchvision: 128). */
  interChannels: z.number().int().positive().default(128),
  width: z.number().positive().max(1).default(1),
});

/** deeplabv3plus-resnet50/101 (Chen et al. 2018): output stride 16 by default, 8 as the paper's option. */
export const deeplabV3PlusConfigSchema = torchvisionResNetSegConfigSchema.extend({
  /** 16: layer4 dilated, ASPP rates 6/12/18; 8: layer3 and layer4 dilated, rates 12/24/36. */
  outputStride: z.union([z.literal(8), z.literal(16)]).default(16),
  /** No auxiliary head in the paper; true adds torchvision's FCNHead on layer3 (weight 0.5). */
  auxLoss: z.boolean().default(false),
});

export type TorchvisionMobileNetSegConfig = z.input<typeof torchvisionMobileNetSegConfigSchema>;
export type LrasppConfig = z.input<typeof lrasppConfigSchema>;
export type DeepLabV3PlusConfig = z.input<typeof deeplabV3PlusConfigSchema>;

export function parsed<S extends z.ZodTypeAny>(schema: S, config: unknown, what: string): z.output<S> {
  const result = schema.safeParse(config);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid ${what} config: ${issues.join('; ')}`);
  }
  return result.data;
}
