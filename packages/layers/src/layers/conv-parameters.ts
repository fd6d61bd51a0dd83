import { ConfigError, type ParameterOptions, type Rng } from '@semseg/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type Fans, type Initializer, torchDefault } from '../init.js';

/** Both conv layers' channel counts must be positive integers. */
export function checkChannels(layer: string, inChannels: number, outChannels: number): void {
  if (!(Number.isInteger(inChannels) && inChannels > 0 && Number.isInteger(outChannels) && outChannels > 0)) {
    throw new ConfigError(`${layer} channels must be positive integers, got ${inChannels} -> ${outChannels}`);
  }
}

export interface BiasSpec {
  bias?: boolean;
  biasInit?: Initializer;
  biasOptions?: ParameterOptions;
  rng: Rng;
}

/** The optional `bias` [outChannels]: PyTorch's initialisation by default, never weight-decayed unless asked. */
export function makeBias(
  register: (name: string, value: tf.Tensor, options: ParameterOptions) => tf.Variable,
  outChannels: number,
  fans: Fans,
  spec: BiasSpec,
): tf.Variable | null {
  if (spec.bias === false) return null;
  const init = spec.biasInit ?? torchDefault();
  return register('bias', init([outChannels], fans, spec.rng), { weightDecay: false, ...spec.biasOptions });
}
