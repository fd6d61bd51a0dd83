import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/** A float32 tensor of N(0, 1) values from a seeded generator. */
export function randomTensor<R extends tf.Rank>(
  shape: readonly number[],
  seed: number,
  scale = 1,
): tf.Tensor<R> {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = rng.fillNormal(new Float32Array(size), 0, scale);
  return tf.tensor(values, shape as number[]) as unknown as tf.Tensor<R>;
}

/** Values with pairwise gaps of at least `gap` in random order (no ties for max pooling checks). */
export function distinctTensor(shape: number[], seed: number, gap = 0.05): tf.Tensor4D {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const order = rng.shuffle([...Array(size).keys()]);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (order[i]! - size / 2) * gap;
  return tf.tensor4d(values, shape as [number, number, number, number]);
}

export async function toArray(t: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** |a - b| / max(1, |b|) over all entries: relative for large values, absolute near zero. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return maxAbsDiff(a, b) / Math.max(1, maxAbs(b));
}

export type ScalarFn = (inputs: tf.Tensor[]) => tf.Tensor;

/**
 * Checks analytic gradients of `projection · f(inputs)` against central finite differences. The
 * projection is fixed random weights; the dot product is taken on the host in float64 so that
 * float32 rounding of the sum does not swamp the difference. Returns the largest error relative
 * to the largest gradient entry, over up to `samples` coordinates of each input.
 */
export async function gradientCheck(
  f: ScalarFn,
  inputs: tf.Tensor[],
  { eps = 1e-2, samples = 24, seed = 7 }: { eps?: number; samples?: number; seed?: number } = {},
): Promise<number> {
  const probe = tf.tidy(() => f(inputs));
  const projection = new Rng(seed).fillNormal(new Float32Array(probe.size));
  const projectionTensor = tf.tensor(projection, probe.shape);
  probe.dispose();
  const objective = async (values: tf.Tensor[]): Promise<number> => {
    const out = tf.tidy(() => f(values));
    const data = await out.data();
    out.dispose();
    let total = 0;
    for (let i = 0; i < data.length; i++) total += data[i]! * projection[i]!;
    return total;
  };
  const analytic = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs), projectionTensor)))(inputs);
  let worst = 0;
  const rng = new Rng(seed + 1);
  for (let k = 0; k < inputs.length; k++) {
    const input = inputs[k]!;
    const base = Float32Array.from(await input.data());
    const grad = await toArray(analytic[k]!);
    const scale = Math.max(1e-3, maxAbs(grad));
    const picks =
      base.length <= samples ? [...base.keys()] : Array.from({ length: samples }, () => rng.int(base.length));
    for (const index of picks) {
      // A variable (a layer's parameter) is perturbed in place; other inputs are replaced.
      const evaluate = async (delta: number): Promise<number> => {
        const values = base.slice();
        values[index] = values[index]! + delta;
        const perturbed = tf.tensor(values, input.shape, input.dtype);
        if (input instanceof tf.Variable) input.assign(perturbed);
        const result = await objective(
          inputs.map((t, j) => (j === k && !(input instanceof tf.Variable) ? perturbed : t)),
        );
        perturbed.dispose();
        return result;
      };
      const plus = await evaluate(eps);
      const minus = await evaluate(-eps);
      if (input instanceof tf.Variable)
        tf.tidy(() => input.assign(tf.tensor(base, input.shape, input.dtype)));
      const numeric = (plus - minus) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - grad[index]!) / scale);
    }
  }
  tf.dispose([...analytic, projectionTensor]);
  return worst;
}
