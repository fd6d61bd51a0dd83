import { z } from 'zod';

/** MobileNetV3-Large options; defaults are torchvision's `mobilenet_v3_large()` without its classifier. */
export const mobilenetV3ConfigSchema = z.object({
  /**
   * torchvision's `dilated`: the last stage (C4, 160 channels) runs at stride 1 with dilation 2, so
   * the output stride is 16 (what the segmentation models use).
   */
  dilated: z.boolean().default(false),
  /** torchvision's `reduced_tail`: the last stage's channels halved. */
  reducedTail: z.boolean().default(false),
  /**
   * torchvision's `width_mult` (channels rounded to multiples of 8). Names stay those of width 1 down
   * to 0.25; below, rounding can remove expansion convs, as in torchvision.
   */
  width: z.number().positive().max(1).default(1),
  /** The ImageNet classifier (Linear 960 -> 1280, hardswish, dropout, Linear -> classes); null: none. */
  numClasses: z.number().int().positive().nullable().default(null),
  /** Dropout of the classifier (torchvision: 0.2). */
  dropout: z.number().min(0).lt(1).default(0.2),
});

export type MobileNetV3Config = z.input<typeof mobilenetV3ConfigSchema>;
export type ResolvedMobileNetV3Config = z.output<typeof mobilenetV3ConfigSchema>;

/** torchvision's `_make_divisible`: the nearest multiple of 8, never 10% below v. */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** One inverted residual block (torchvision's InvertedResidualConfig), channels at width 1. */
export interface BlockSetting {
  input: number;
  kernel: 3 | 5;
  expanded: number;
  output: number;
  squeezeExcite: boolean;
  activation: 'relu' | 'hardswish';
  stride: 1 | 2;
  dilation: number;
}

/** torchvision's `_mobilenet_v3_conf("mobilenet_v3_large")` (Howard et al. 2019, Table 1). */
export function largeSettings(dilated: boolean, reducedTail: boolean): BlockSetting[] {
  const d = dilated ? 2 : 1;
  const r = reducedTail ? 2 : 1;
  const rows: Array<[number, 3 | 5, number, number, boolean, 'RE' | 'HS', 1 | 2, number]> = [
    [16, 3, 16, 16, false, 'RE', 1, 1],
    [16, 3, 64, 24, false, 'RE', 2, 1], // C1
    [24, 3, 72, 24, false, 'RE', 1, 1],
    [24, 5, 72, 40, true, 'RE', 2, 1], // C2
    [40, 5, 120, 40, true, 'RE', 1, 1],
    [40, 5, 120, 40, true, 'RE', 1, 1],
    [40, 3, 240, 80, false, 'HS', 2, 1], // C3
    [80, 3, 200, 80, false, 'HS', 1, 1],
    [80, 3, 184, 80, false, 'HS', 1, 1],
    [80, 3, 184, 80, false, 'HS', 1, 1],
    [80, 3, 480, 112, true, 'HS', 1, 1],
    [112, 3, 672, 112, true, 'HS', 1, 1],
    [112, 5, 672, 160 / r, true, 'HS', 2, d], // C4
    [160 / r, 5, 960 / r, 160 / r, true, 'HS', 1, d],
    [160 / r, 5, 960 / r, 160 / r, true, 'HS', 1, d],
  ];
  return rows.map(([input, kernel, expanded, output, squeezeExcite, act, stride, dilation]) => ({
    input,
    kernel,
    expanded,
    output,
    squeezeExcite,
    activation: act === 'HS' ? 'hardswish' : 'relu',
    stride,
    dilation,
  }));
}

/** torchvision's `last_channel` of the large model: the classifier's hidden width. */
export const LARGE_LAST_CHANNEL = 1280;
