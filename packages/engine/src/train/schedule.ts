import { ConfigError } from '@semseg/core';

/** Learning-rate policies of the reference solvers (Caffe's lr_policy). */
export interface LrSchedule {
  policy: 'poly' | 'step' | 'fixed';
  baseLr: number;
  /** Total steps (poly decays to 0 at maxSteps). */
  maxSteps: number;
  /** poly: lr = base * (1 - step / maxSteps) ^ power. Default 0.9 (DeepLab). */
  power?: number;
  /** step: lr = base * gamma ^ floor(step / stepSize). */
  stepSize?: number;
  gamma?: number;
}

export function learningRate(schedule: LrSchedule, step: number): number {
  const { policy, baseLr } = schedule;
  if (policy === 'fixed') return baseLr;
  if (policy === 'poly') {
    const progress = Math.min(step / Math.max(1, schedule.maxSteps), 1);
    return baseLr * (1 - progress) ** (schedule.power ?? 0.9);
  }
  if (policy === 'step') {
    const size = schedule.stepSize;
    if (!size || size <= 0) throw new ConfigError('the step lr policy needs a positive stepSize');
    return baseLr * (schedule.gamma ?? 0.1) ** Math.floor(step / size);
  }
  throw new ConfigError(`unknown lr policy '${policy as string}'; use poly, step or fixed`);
}
