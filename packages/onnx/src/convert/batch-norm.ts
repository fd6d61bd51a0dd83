// tfjs's FusedBatchNorm (tf.batchNorm: @semseg/layers' batch norms in eval mode) as ONNX: folded
// into the convolution before it (the default), else one BatchNormalization node with the running
// mean and variance, scale, bias and epsilon (keepBatchNorm, or no conv to fold into).
import { DataType, float } from '../ir.js';
import type { TracedKernel, TracedTensor } from '../trace.js';
import { type Converter, ExportError, type FoldableConv } from './context.js';

function perChannel(
  c: Converter,
  t: TracedTensor | undefined,
  channels: number,
  fallback: number,
): Float32Array {
  const out = new Float32Array(channels).fill(fallback);
  if (!t) return out;
  if (c.isDependent(t))
    throw new ExportError('onnx export: batch-norm statistics computed from the input are not supported');
  const values = c.data(t) as Float32Array;
  if (values.length !== 1 && values.length !== channels)
    throw new ExportError(
      `onnx export: batch-norm parameters of ${values.length} values for ${channels} channels`,
    );
  for (let i = 0; i < channels; i++) out[i] = values.length === 1 ? values[0]! : values[i]!;
  return out;
}

/** Scales a conv's output channels by `scale` and adds `shift` (copying weights it shares). */
function foldInto(c: Converter, conv: FoldableConv, scale: Float32Array, shift: Float32Array): void {
  if (!conv.ownsWeight) {
    const name = c.b.float('W', conv.weight.dims, (conv.weight.data as Float32Array).slice());
    conv.weight = c.b.initializers[c.b.initializers.length - 1]!;
    conv.node.inputs[1] = name;
    conv.ownsWeight = true;
  }
  const w = conv.weight.data as Float32Array;
  const bias = conv.bias.data as Float32Array;
  const per = w.length / conv.channels;
  for (let o = 0; o < conv.channels; o++) {
    for (let i = o * per; i < (o + 1) * per; i++) w[i]! *= scale[o];
    bias[o] = bias[o]! * scale[o]! + shift[o]!;
  }
}

export function fusedBatchNorm(k: TracedKernel, c: Converter): string[] {
  const named = (name: string) => k.inputs.find(([n]) => n === name)?.[1];
  const x = named('x');
  const mean = named('mean');
  const variance = named('variance');
  if (!x || !mean || !variance)
    throw new ExportError('onnx export: FusedBatchNorm without x, mean or variance');
  const channels = x.shape[x.shape.length - 1]!;
  const epsilon = (k.attrs.varianceEpsilon as number | undefined) ?? 0.001;
  const m = perChannel(c, mean, channels, 0);
  const v = perChannel(c, variance, channels, 1);
  const gamma = perChannel(c, named('scale'), channels, 1);
  const beta = perChannel(c, named('offset'), channels, 0);
  const result = k.outputs[0]!;
  const conv = c.convs.get(x.id);
  if (c.foldAffine && conv && c.consumerCount(x) === 1 && conv.channels === channels) {
    // y = (x - mean) * gamma / sqrt(var + eps) + beta, per channel, as tfjs computes it.
    const scale = new Float32Array(channels);
    const shift = new Float32Array(channels);
    for (let o = 0; o < channels; o++) {
      scale[o] = gamma[o]! / Math.sqrt(v[o]! + epsilon);
      shift[o] = beta[o]! - m[o]! * scale[o]!;
    }
    foldInto(c, conv, scale, shift);
    c.names.set(result.id, c.value(x));
    c.convs.set(result.id, conv);
    return [c.value(x)];
  }
  const vector = (prefix: string, data: Float32Array) =>
    c.b.initializer(prefix, DataType.FLOAT, [channels], data);
  const params = [
    vector('bn_scale', gamma),
    vector('bn_bias', beta),
    vector('bn_mean', m),
    vector('bn_var', v),
  ];
  if (x.shape.length === 4) {
    const y = c.b.node('BatchNormalization', [c.toNchw(c.value(x)), ...params], { epsilon: float(epsilon) });
    return [c.fromNchw(y)];
  }
  // Channels last of another rank: BatchNormalization wants them at axis 1.
  const rank = x.shape.length;
  const toFirst = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
  const toLast = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
  const first = c.b.node('Transpose', [c.value(x)], { perm: { kind: 'ints', value: toFirst } });
  const y = c.b.node('BatchNormalization', [first, ...params], { epsilon: float(epsilon) });
  return [c.b.node('Transpose', [y], { perm: { kind: 'ints', value: toLast } })];
}
