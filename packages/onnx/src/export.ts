// exportOnnx: trace one forward of a model, translate each tfjs kernel, write the ModelProto.
import { ConfigError, type SegmentationModel, withoutWinogradTransforms } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { Converter, ExportError, NotBatchGeneric, NotSizeGeneric, type SizeInfo } from './convert/context.js';
import { KERNELS } from './convert/kernels.js';
import { DataType, type Graph, GraphBuilder, type Node, int } from './ir.js';
import { encodeModel } from './proto/write.js';
import {
  SIZES_METADATA_KEY,
  type ServedSizes,
  describeAxis,
  graphDifference,
  pairSizes,
  servedSizes,
  totalStride,
} from './size.js';
import { type Trace, traceKernels } from './trace.js';

/**
 * Which dims of each tensor of `one` (traced at batch 1) follow the batch, from the same forward
 * traced at batch 2: those that doubled. Null when the two runs differ otherwise (then the batch
 * is made dynamic with a Scan over samples).
 */
function pairTraces(one: Trace, two: Trace): Map<number, boolean[]> | null {
  if (one.kernels.length !== two.kernels.length) return null;
  const dims = new Map<number, boolean[]>();
  const pair = (a: { id: number; shape: number[] }, b: { shape: number[] }): boolean => {
    if (a.shape.length !== b.shape.length) return false;
    const scaled = a.shape.map((d, i) => b.shape[i] !== d);
    if (a.shape.some((d, i) => scaled[i] && b.shape[i] !== 2 * d)) return false;
    const known = dims.get(a.id);
    if (known?.some((s, i) => s !== scaled[i])) return false;
    dims.set(a.id, scaled);
    return true;
  };
  if (!pair(one.input, two.input)) return null;
  for (let i = 0; i < one.kernels.length; i++) {
    const [a, b] = [one.kernels[i]!, two.kernels[i]!];
    if (a.kernel !== b.kernel || a.inputs.length !== b.inputs.length || a.outputs.length !== b.outputs.length)
      return null;
    for (let j = 0; j < a.inputs.length; j++) if (!pair(a.inputs[j]![1], b.inputs[j]![1])) return null;
    for (let j = 0; j < a.outputs.length; j++) if (!pair(a.outputs[j]!, b.outputs[j]!)) return null;
  }
  return dims;
}

/** Tensor ids of `from` to those at the same place in `to` (traces that run the same kernels). */
function idMap(from: Trace, to: Trace): Map<number, number> {
  const ids = new Map<number, number>([
    [from.input.id, to.input.id],
    [from.output.id, to.output.id],
  ]);
  from.kernels.forEach((k, i) => {
    const other = to.kernels[i]!;
    k.inputs.forEach(([, t], j) => ids.set(t.id, other.inputs[j]![1].id));
    k.outputs.forEach((t, j) => ids.set(t.id, other.outputs[j]!.id));
  });
  return ids;
}

function remap<T>(values: Map<number, T> | null, ids: Map<number, number>): Map<number, T> | null {
  if (values === null) return null;
  const out = new Map<number, T>();
  for (const [id, v] of values) {
    const to = ids.get(id);
    if (to !== undefined) out.set(to, v);
  }
  return out;
}

/** The ONNX opset the exporter writes by default. */
export const ONNX_OPSET = 17;
/** The newest opset the exporter writes (onnx.proto 1.12's checker knows up to 17). */
export const ONNX_MAX_OPSET = 18;

export interface ExportOnnxOptions {
  /** Height and width of the traced input (a graph of fixed size takes exactly this size). */
  height: number;
  width: number;
  /**
   * A dynamic input height and width where the architecture allows it: 'auto' (default) makes
   * them dynamic where the translation provably does not depend on the traced size and otherwise
   * writes a graph of fixed size (the reason in `semseg.dynamic_size`); true fails instead of
   * falling back; false always fixes the size. A dynamic graph serves the sizes congruent to the
   * traced one modulo the model's total stride (`semseg.sizes`).
   */
  dynamicSize?: boolean | 'auto';
  /**
   * A fixed batch size, or 'dynamic' (default): a symbolic batch. The graph is traced at batch 1
   * and 2 and the dims that follow the batch are computed from the input's shape at run time;
   * where a shape cannot follow it, the batch-1 graph runs per sample inside an ONNX Scan.
   */
  batch?: number | 'dynamic';
  /** ONNX default-domain opset, 17 (default) or 18. */
  opset?: number;
  /** Extra metadata_props (the checkpoint's classes, architecture, ...). */
  metadata?: Record<string, string>;
  /**
   * Keep batch norms (and biases) as separate element-wise nodes instead of folding them into the
   * preceding convolutions (the default folds them).
   */
  keepBatchNorm?: boolean;
  /** Append a softmax over classes: output `probabilities` instead of `logits`. */
  softmax?: boolean;
  /** Input channels (default: the model config's `inChannels`, else 3). */
  channels?: number;
}

/** Names of the exported graph's input and output. */
export const ONNX_INPUT = 'images';
export const ONNX_OUTPUT = { logits: 'logits', probabilities: 'probabilities' } as const;

function checkOptions(o: ExportOnnxOptions): void {
  for (const [what, v] of [
    ['height', o.height],
    ['width', o.width],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new ConfigError(`onnx export: ${what} must be a positive integer, got ${v}`);
  }
  if (o.batch !== undefined && o.batch !== 'dynamic' && !(Number.isInteger(o.batch) && o.batch >= 1)) {
    throw new ConfigError(`onnx export: batch must be a positive integer or 'dynamic', got ${o.batch}`);
  }
  if (o.dynamicSize !== undefined && o.dynamicSize !== 'auto' && typeof o.dynamicSize !== 'boolean') {
    throw new ConfigError(
      `onnx export: dynamicSize must be true, false or 'auto', got ${String(o.dynamicSize)}`,
    );
  }
  const opset = o.opset ?? ONNX_OPSET;
  if (!Number.isInteger(opset) || opset < ONNX_OPSET || opset > ONNX_MAX_OPSET) {
    throw new ConfigError(`onnx export: opset must be ${ONNX_OPSET} to ${ONNX_MAX_OPSET}, got ${o.opset}`);
  }
}

/** Drops nodes whose outputs nothing reads, and initializers no node reads. */
function pruneGraph(nodes: Node[], outputs: string[]): Node[] {
  const live = new Set(outputs);
  const kept: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!n.outputs.some((o) => live.has(o))) continue;
    kept.push(n);
    for (const name of n.inputs) if (name !== '') live.add(name);
  }
  return kept.reverse();
}

function usedNames(nodes: Node[]): Set<string> {
  const used = new Set<string>();
  for (const n of nodes) {
    for (const name of n.inputs) used.add(name);
    for (const a of Object.values(n.attributes)) {
      if (a.kind === 'graph') for (const name of usedNames(a.value.nodes)) used.add(name);
    }
  }
  return used;
}

/**
 * Traces one forward of `model` (in eval mode) and returns the ONNX ModelProto bytes. Graph input
 * `images`: N x H x W x C float32 (NHWC, normalised as the model expects); output `logits` (or
 * `probabilities`): N x H x W x classes, as `model.forward` gives. H and W are the traced size, or
 * symbolic where the model allows it (`dynamicSize`).
 */
export function exportOnnx(model: SegmentationModel, options: ExportOnnxOptions): Uint8Array {
  checkOptions(options);
  const batch = options.batch ?? 'dynamic';
  const opset = options.opset ?? ONNX_OPSET;
  const dynamicSize = options.dynamicSize ?? 'auto';
  const configChannels = (model.config as { inChannels?: unknown } | undefined)?.inChannels;
  const channels = options.channels ?? (typeof configChannels === 'number' ? configChannels : 3);
  const { height, width } = options;
  const traceBatch = batch === 'dynamic' ? 1 : batch;

  const wasTraining = model.training;
  model.eval();
  const traceAt = (n: number, h: number, w: number) => {
    const x = tf.zeros([n, h, w, channels]) as tf.Tensor4D;
    try {
      // On wasm the convolutions would take core's Winograd kernels, which ONNX has no ops for:
      // the trace runs without them (the direct routes, the same values).
      return withoutWinogradTransforms(() => traceKernels(x, (input) => model.forward(input)));
    } finally {
      x.dispose();
    }
  };
  let trace: Trace;
  let batchDims: Map<number, boolean[]> | null = null;
  try {
    trace = traceAt(traceBatch, height, width);
    // A dynamic batch: a second trace at batch 2 says which dims follow the batch.
    if (batch === 'dynamic') batchDims = pairTraces(trace, traceAt(2, height, width));
  } finally {
    if (wasTraining) model.train();
  }
  const traceInEval = (n: number, h: number, w: number): Trace => {
    model.eval();
    try {
      return traceAt(n, h, w);
    } finally {
      if (wasTraining) model.train();
    }
  };

  const outputName = options.softmax ? ONNX_OUTPUT.probabilities : ONNX_OUTPUT.logits;
  const classes = trace.output.shape[3]!;
  const n = batch === 'dynamic' ? 'batch' : batch;
  // Symbolic names of the spatial dims of the input and output of a size-generic graph.
  const dimNames = (t: typeof trace.output, info: SizeInfo | null, prefix: string): Array<number | string> =>
    t.shape.map((d, i) => {
      const s = info?.dims.get(t.id)?.[i];
      if (i === 0 || !s) return d;
      const name = s.axis === 1 ? 'height' : 'width';
      return s.step === info!.step && d === trace.input.shape[s.axis] ? name : `${prefix}${name}`;
    });

  type BatchMode = 'fixed' | 'generic' | 'scan';
  const translate = (
    tr: Trace,
    mode: BatchMode,
    dims: Map<number, boolean[]> | null,
    size: SizeInfo | null,
  ) => {
    const b = new GraphBuilder();
    const c = new Converter(b, tr, opset, !options.keepBatchNorm);
    const sample = 'image';
    c.inputName = ONNX_INPUT;
    c.size = size;
    if (mode === 'generic') c.batchDims = dims;
    if (mode === 'scan') c.names.set(tr.input.id, b.node('Unsqueeze', [sample, b.int64([0])]));
    else c.names.set(tr.input.id, ONNX_INPUT);
    for (const k of tr.kernels) {
      if (!k.inputs.some(([, t]) => c.isDependent(t))) continue; // constant: folded from the trace
      const handler = KERNELS[k.kernel];
      if (!handler) {
        throw new ExportError(`onnx export: the tfjs kernel '${k.kernel}' has no ONNX translation yet`);
      }
      const names = handler(k, c);
      k.outputs.forEach((t, i) => {
        if (!c.names.has(t.id)) c.names.set(t.id, names[i]!);
      });
    }
    let result = c.value(tr.output);
    if (options.softmax) result = b.node('Softmax', [result], { axis: int(3) });
    const inDims = dimNames(tr.input, size, '');
    const outDims = dimNames(tr.output, size, 'out_');
    let graph: Graph;
    if (mode !== 'scan') {
      b.node('Identity', [result], {}, [outputName]);
      graph = {
        name: 'semseg',
        nodes: pruneGraph(b.nodes, [outputName]),
        initializers: [],
        inputs: [],
        outputs: [],
      };
    } else {
      const bodyOut = 'sample_out';
      b.node('Squeeze', [result, b.int64([0])], {}, [bodyOut]);
      const body: Graph = {
        name: 'sample',
        nodes: pruneGraph(b.nodes, [bodyOut]),
        initializers: [],
        inputs: [{ name: sample, dataType: DataType.FLOAT, dims: inDims.slice(1) }],
        outputs: [{ name: bodyOut, dataType: DataType.FLOAT, dims: outDims.slice(1) }],
      };
      const scan: Node = {
        opType: 'Scan',
        name: 'per_sample',
        inputs: [ONNX_INPUT],
        outputs: [outputName],
        attributes: { body: { kind: 'graph', value: body }, num_scan_inputs: int(1) },
      };
      graph = { name: 'semseg', nodes: [scan], initializers: [], inputs: [], outputs: [] };
    }
    const used = usedNames(graph.nodes);
    graph.initializers = b.initializers.filter((i) => used.has(i.name));
    graph.inputs = [{ name: ONNX_INPUT, dataType: DataType.FLOAT, dims: [n, ...inDims.slice(1)] }];
    graph.outputs = [{ name: outputName, dataType: DataType.FLOAT, dims: [n, ...outDims.slice(1)] }];
    return { graph, minimums: c.minimums };
  };

  /** The graph of the base trace, batch-generic (else a Scan) and size-generic when `size` is given. */
  type Built = ReturnType<typeof translate> & { mode: BatchMode };
  const build = (size: SizeInfo | null): Built => {
    let mode: BatchMode = batch !== 'dynamic' ? 'fixed' : batchDims ? 'generic' : 'scan';
    try {
      return { ...translate(trace, mode, batchDims, size), mode };
    } catch (error) {
      if (!(error instanceof NotBatchGeneric)) throw error;
      mode = 'scan';
      return { ...translate(trace, mode, batchDims, size), mode };
    }
  };

  let built: Built | null = null;
  let served: ServedSizes | null = null;
  let fixedReason = 'not asked for (dynamicSize: false)';
  if (dynamicSize !== false) {
    // A dynamic size: the same forward at +S rows and at +S columns, S the total stride; once more
    // at 4S, which also keeps the residues of inputs rescaled by 0.75 or 0.5 (DeepLab's MSC).
    const base = totalStride(trace);
    for (const step of [base, 4 * base]) {
      try {
        const others = [
          traceInEval(traceBatch, height + step, width),
          traceInEval(traceBatch, height, width + step),
        ];
        const infos = pairSizes(trace, others[0]!, others[1]!, step).infos;
        const candidate = build(infos[0]);
        // Sound only if the translation does not depend on the traced size: the traces at the
        // other two sizes must translate to the same graph (nodes, attributes, constants' bytes).
        others.forEach((other, i) => {
          const ids = idMap(trace, other);
          const { graph } = translate(other, candidate.mode, remap(batchDims, ids), infos[i + 1]!);
          const difference = graphDifference(candidate.graph, graph);
          if (difference !== null)
            throw new NotSizeGeneric(`the graph traced at another size differs: ${difference}`);
        });
        served = servedSizes(trace, infos[0], candidate.minimums);
        built = candidate;
        break;
      } catch (error) {
        if (!(error instanceof NotSizeGeneric)) throw error;
        // The reason at the total stride itself (the one that explains the model).
        if (step === base) fixedReason = error.message;
      }
    }
  }
  if (!built) {
    if (dynamicSize === true)
      throw new ExportError(`onnx export: this model's input size cannot be dynamic: ${fixedReason}`);
    built = build(null);
  }
  const { graph, mode: batchMode } = built;
  const inDims = graph.inputs[0]!.dims;
  const outDims = graph.outputs[0]!.dims;
  const sizes: ServedSizes = served ?? {
    height: { modulus: 0, min: height },
    width: { modulus: 0, min: width },
  };

  const metadata: Record<string, string> = {
    'semseg.input': `${ONNX_INPUT}: NHWC float32 [${inDims.join(', ')}], normalised as semseg.normalization`,
    'semseg.output': `${outputName}: NHWC float32 [${outDims.join(', ')}]`,
    'semseg.input_size': `${height}x${width}`,
    'semseg.dynamic_size': served
      ? `${describeAxis('height', served.height)}, ${describeAxis('width', served.width)} (traced at ${height}x${width})`
      : `false: ${fixedReason}; the graph takes ${height}x${width} only (tile or resize other sizes, or export again)`,
    [SIZES_METADATA_KEY]: JSON.stringify(sizes),
    'semseg.batch':
      batchMode === 'fixed'
        ? String(n)
        : `dynamic (${batchMode === 'generic' ? 'one graph for any batch' : 'an ONNX Scan over the samples'})`,
    'semseg.num_classes': String(classes),
    'semseg.batch_norm': options.keepBatchNorm ? 'kept' : 'folded into the convolutions',
  };
  if (model.normalization) metadata['semseg.normalization'] = JSON.stringify(model.normalization);
  if (model.config) metadata['semseg.config'] = JSON.stringify(model.config);
  Object.assign(metadata, options.metadata ?? {});
  return encodeModel(graph, {
    opset,
    producerName: 'semseg.js',
    producerVersion: '0.1.0',
    docString: 'Exported by @semseg/onnx from a trace of the tfjs forward pass.',
    metadata,
  });
}
