import { InputError } from '@semseg/core';

/**
 * Size arithmetic of a U-Net along one axis. Valid convolutions lose 4 pixels per pair; the
 * paper's tiles (572) keep every map that is pooled even, so skips crop to whole pixels and the
 * output is centred in the input. Those "native" sizes are `smallestNative + k * period`.
 */
export interface UNetGeometry {
  padding: 'valid' | 'same';
  depth: number;
  /** 2^depth: shifting the input by a multiple of it shifts the output by the same amount. */
  period: number;
  /** Input minus output (valid: 184 at depth 4; same: 0). The output starts margin / 2 in. */
  margin: number;
  /** Smallest input a valid U-Net takes without extension (188 at depth 4, giving 4). */
  smallestNative: number;
}

/** Sizes of every map of a valid U-Net for one input length, or null when a pooled map is odd. */
export function validSizes(input: number, depth: number): { output: number } | null {
  let size = input;
  for (let level = 0; level < depth; level++) {
    size -= 4;
    if (size <= 0 || size % 2 !== 0) return null;
    size /= 2;
  }
  size -= 4;
  if (size <= 0) return null;
  for (let level = 0; level < depth; level++) {
    size = 2 * size - 4;
    if (size <= 0) return null;
  }
  return { output: size };
}

export function unetGeometry(padding: 'valid' | 'same', depth: number): UNetGeometry {
  const period = 2 ** depth;
  if (padding === 'same') return { padding, depth, period, margin: 0, smallestNative: 1 };
  let input = 1;
  while (validSizes(input, depth) === null) input++;
  const margin = input - validSizes(input, depth)!.output;
  return { padding, depth, period, margin, smallestNative: input };
}

/** Output length for an input length (valid: input - margin; same: input). */
export function outputLength(g: UNetGeometry, input: number): number {
  if (g.padding === 'same') return input;
  if (input <= g.margin) {
    throw new InputError(
      `a valid-padded U-Net of depth ${g.depth} needs inputs larger than ${g.margin} pixels (its context), got ${input}`,
    );
  }
  return input - g.margin;
}

/**
 * The length the network actually runs on: valid, the smallest native length >= input; same, the
 * smallest multiple of 2^depth >= input (so no pooled map is odd and nothing misaligns).
 */
export function runLength(g: UNetGeometry, input: number): number {
  if (g.padding === 'same') return Math.ceil(input / g.period) * g.period;
  if (input <= g.smallestNative) return g.smallestNative;
  return g.smallestNative + Math.ceil((input - g.smallestNative) / g.period) * g.period;
}
