import { ConfigError, type LrPolicy } from '@semseg/core';

/** A learning-rate policy of the reference solvers (Caffe's lr_policy) over a run of `maxSteps`. */
export interface LrSchedule extends LrPolicy {
  /** Total steps (poly decays to 0 at maxSteps). */
  maxSteps: number;
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
  if (policy === 'exp') return baseLr * (schedule.gamma ?? 0.1) ** step;
  throw new ConfigError(`unknown lr policy '${policy as string}'; use poly, step, exp or fixed`);
}
