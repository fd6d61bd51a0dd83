// Records the kernels tfjs runs during one call: every registered kernel invocation that reaches
// the engine (ops, and the ops inside tf.customGrad forwards, which are transparent), with its
// attributes, input and output tensors. Tensors the trace did not produce are constants (weights,
// buffers, host-made tensors); the traced input is the graph input.
import * as tf from '@tensorflow/tfjs-core';

export type TracedDType = 'float32' | 'int32' | 'bool';

export interface TracedTensor {
  id: number;
  shape: number[];
  dtype: TracedDType;
}

export interface TracedKernel {
  kernel: string;
  /** Named inputs in the kernel's own order (as the op passed them). */
  inputs: Array<[string, TracedTensor]>;
  attrs: Record<string, unknown>;
  outputs: TracedTensor[];
}

export interface Trace {
  kernels: TracedKernel[];
  input: TracedTensor;
  output: TracedTensor;
  /**
   * Values of the constants: tensors the kernels read but did not produce, and outputs of kernels
   * that read no tensor derived from the input (so constant folding comes from the trace itself).
   */
  values: Map<number, Float32Array | Int32Array | Uint8Array>;
  /** Ids of the tensors derived from the input. */
  dependent: Set<number>;
}

interface KernelParams {
  kernelName?: string;
  inputs: Record<string, tf.Tensor>;
  attrs?: Record<string, unknown>;
}

type EngineWithKernels = { runKernelFunc(params: KernelParams): tf.Tensor | tf.Tensor[] };

function describe(t: tf.Tensor): TracedTensor {
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
    throw new Error(`onnx export: tensors of dtype ${t.dtype} are not supported`);
  }
  return { id: t.id, shape: [...t.shape], dtype: t.dtype };
}

/**
 * Runs `fn(input)` with the engine's kernel entry point wrapped, and returns what ran. The values
 * of constants are read as they appear (activations are not kept: they may be large). Only the
 * outermost kernel calls are recorded: a kernel implemented by other kernels counts once.
 */
export function traceKernels(input: tf.Tensor4D, fn: (x: tf.Tensor4D) => tf.Tensor4D): Trace {
  const engine = tf.engine() as unknown as EngineWithKernels;
  const original = engine.runKernelFunc;
  const kernels: TracedKernel[] = [];
  const values = new Map<number, Float32Array | Int32Array | Uint8Array>();
  const dependent = new Set<number>([input.id]);
  let depth = 0;
  const remember = (t: tf.Tensor) => {
    if (!values.has(t.id)) values.set(t.id, t.dataSync() as Float32Array | Int32Array | Uint8Array);
  };
  engine.runKernelFunc = function (this: unknown, params: KernelParams) {
    if (params.kernelName === undefined || depth > 0) return original.call(this, params);
    depth++;
    let result: tf.Tensor | tf.Tensor[];
    try {
      result = original.call(this, params);
    } finally {
      depth--;
    }
    const outs = Array.isArray(result) ? result : [result];
    const inputs: Array<[string, TracedTensor]> = [];
    let fromInput = false;
    for (const [name, t] of Object.entries(params.inputs)) {
      if (t == null) continue;
      if (dependent.has(t.id)) fromInput = true;
      else remember(t);
      inputs.push([name, describe(t)]);
    }
    for (const t of outs) {
      if (fromInput) dependent.add(t.id);
      else remember(t);
    }
    kernels.push({
      kernel: params.kernelName,
      inputs,
      attrs: { ...(params.attrs ?? {}) },
      outputs: outs.map(describe),
    });
    return result;
  };
  let output: tf.Tensor4D;
  try {
    output = fn(input);
  } finally {
    engine.runKernelFunc = original;
  }
  const trace: Trace = { kernels, input: describe(input), output: describe(output), values, dependent };
  output.dispose();
  return trace;
}
