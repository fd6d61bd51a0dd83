import { ConfigError } from '@semseg/core';
import { z } from 'zod';

const numClasses = z.number().int().min(2).max(255).default(21);
/** Channel multiplier of the backbone and the heads (1 for ImageNet and released weights). */
const width = z.number().positive().max(1).default(1);
/** Caffe's Dropout after fc6 and fc7 (per element). */
const dropout = z.number().min(0).lt(1).default(0.5);

/**
 * Input sizes other than 8k+1: 'pad' pads the image at the bottom and right with the mean colour
 * (zeros once normalised) to the next 8k+1, upsamples with Caffe's Interp (x8, aligned corners)
 * and crops, as DeepLab's test net does with its 513x513 canvas; 'resize' runs the image as it
 * is and resizes the score map to the input with aligned corners (PyTorch ports). Both are the
 * same on 8k+1 inputs.
 */
export const sizeRuleSchema = z.enum(['pad', 'resize']).default('pad');

/**
 * Where the training loss is taken: on the score map against labels shrunk to it ('output-stride',
 * the released prototxts' `label_shrink`), or on logits upsampled to the input ('full').
 */
export const lossResolutionSchema = z.enum(['output-stride', 'full']).default('output-stride');

/** DeepLab-LargeFOV (Chen et al. 2015), as the released train/test prototxts. */
export const deeplabV1ConfigSchema = z.object({
  numClasses,
  width,
  dropout,
  sizeRule: sizeRuleSchema,
  lossResolution: lossResolutionSchema,
});

export const ASPP_L_RATES = [6, 12, 18, 24] as const;
export const ASPP_S_RATES = [2, 4, 8, 12] as const;

/** DeepLab v2 (Chen et al., TPAMI 2017): ASPP on VGG16 or ResNet-101, multi-scale inputs. */
export const deeplabV2ConfigSchema = z.object({
  numClasses,
  width,
  dropout,
  backbone: z.enum(['vgg16', 'resnet101']).default('vgg16'),
  /** ASPP branch rates: ASPP-L 6, 12, 18, 24 (the paper's best) or ASPP-S 2, 4, 8, 12. */
  rates: z
    .array(z.number().int().positive())
    .min(1)
    .default([...ASPP_L_RATES]),
  /**
   * Multi-scale inputs (MSC), the first being 1: [1, 0.75, 0.5] as the released ResNet-101 model;
   * default [1] for VGG16 (its released model has none) and [1, 0.75, 0.5] for ResNet-101.
   */
  scales: z
    .array(z.number().gt(0).max(1))
    .min(1)
    .refine((s) => s[0] === 1, { message: 'the first scale must be 1' })
    .optional(),
  sizeRule: sizeRuleSchema,
  lossResolution: lossResolutionSchema,
});

/** Yu & Koltun (ICLR 2016): the dilated VGG16 front-end and the context module. */
export const dilatedNetConfigSchema = z.object({
  numClasses,
  width,
  dropout,
  /**
   * 'reference': unpadded convs on the input reflected by 186 pixels on each side (the released
   * nets), sizes padded (by reflection) to a multiple of 8; 'same': padded convs, no margin
   * (faster; the same stride-8 alignment).
   */
  alignment: z.enum(['reference', 'same']).default('reference'),
  /** The context module on the front-end's scores: none (the front-end alone), basic or large. */
  context: z.enum(['none', 'basic', 'large']).default('large'),
  /** Train the front-end too (false: only the context module, the paper's second stage). */
  trainFrontEnd: z.boolean().default(true),
  lossResolution: lossResolutionSchema,
});

/** The context module stacked on any registered model's logits. */
export const contextWrapperConfigSchema = z.object({
  /** The registered model whose logits the module refines. */
  model: z.string().min(1),
  /** That model's config. */
  modelConfig: z.record(z.string(), z.unknown()).default({}),
  context: z.enum(['basic', 'large']).default('basic'),
  /** Train the inner model too (false: only the context module). */
  trainInner: z.boolean().default(true),
});

export type DeepLabV1Config = z.input<typeof deeplabV1ConfigSchema>;
export type ResolvedDeepLabV1Config = z.output<typeof deeplabV1ConfigSchema>;
export type DeepLabV2Config = z.input<typeof deeplabV2ConfigSchema>;
export type ResolvedDeepLabV2Config = z.output<typeof deeplabV2ConfigSchema> & { scales: number[] };
export type DilatedNetConfig = z.input<typeof dilatedNetConfigSchema>;
export type ResolvedDilatedNetConfig = z.output<typeof dilatedNetConfigSchema>;
export type ContextWrapperConfig = z.input<typeof contextWrapperConfigSchema>;
export type ResolvedContextWrapperConfig = z.output<typeof contextWrapperConfigSchema>;
export type SizeRule = z.output<typeof sizeRuleSchema>;
export type LossResolution = z.output<typeof lossResolutionSchema>;

/** Parses a config against a schema; the ConfigError names every bad field. */
export function parseConfig<S extends z.ZodType>(schema: S, config: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(config ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid ${what} config: ${issues.join('; ')}`);
  }
  return parsed.data;
}
