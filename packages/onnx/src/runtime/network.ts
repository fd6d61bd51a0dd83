import { InputError, Module, type Normalization, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type ServedAxis, type ServedSizes, describeSizes, servedSizesOf, serves } from '../size.js';
import { readMetadataProps } from './model-proto.js';

/** The part of an onnxruntime tensor this path uses (onnxruntime-node and -web share it). */
export interface OrtTensorLike {
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** The part of an onnxruntime `InferenceSession` this path uses. */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: ReadonlyArray<{
    readonly isTensor: boolean;
    readonly shape?: ReadonlyArray<number | string>;
  }>;
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** What a runtime (onnxruntime-node, onnxruntime-web) gives this path: sessions and tensors. */
export interface OrtRuntime {
  createSession(graph: Uint8Array): Promise<OrtSessionLike>;
  tensor(data: Float32Array, dims: readonly number[]): OrtTensorLike;
}

/** A session and the input it takes: fixed dimensions are numbers, dynamic ones null. */
export interface OnnxGraph {
  session: OrtSessionLike;
  input: string;
  output: string;
  /** [N, H, W] of the graph input (its 4th dimension is 3: images NHWC). */
  dims: [number | null, number | null, number | null];
}

/** Where the graphs for each input size come from. */
export interface GraphSource {
  /** The graph that takes `height` x `width` inputs. */
  graphFor(height: number, width: number): Promise<OnnxGraph>;
  release(): Promise<void>;
}

/** A session's input and output names and its input's NHWC dimensions; `source` names it in errors. */
export function describeGraph(session: OrtSessionLike, source: string): OnnxGraph {
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1 || !input || !output)
    throw new InputError(
      `${source}: a segmentation graph has one input (images) and one output (logits); this one has ${session.inputNames.length} and ${session.outputNames.length}`,
    );
  const shape = session.inputMetadata?.[0]?.shape;
  const dim = (d: number | string | undefined): number | null => (typeof d === 'number' && d > 0 ? d : null);
  if (shape && (shape.length !== 4 || dim(shape[3]) !== 3))
    throw new InputError(
      `${source}: its input '${input}' is [${shape.join(', ')}]; semseg.js graphs take images N x H x W x 3 (NHWC)`,
    );
  return {
    session,
    input,
    output,
    dims: shape ? [dim(shape[0]), dim(shape[1]), dim(shape[2])] : [null, null, null],
  };
}

/** The largest size along an axis that the graph serves and that fits in `limit` (else the least). */
function servedWithin(a: ServedAxis, limit: number): number {
  if (a.modulus === 0 || limit <= a.min) return a.min;
  return a.min + Math.floor((limit - a.min) / a.modulus) * a.modulus;
}

/**
 * One graph file: a fixed or dynamic input size, as exported. `sizes` (its `semseg.sizes`
 * metadata) says which sizes a dynamic graph serves; without it, the input's dims decide.
 */
export class FileGraph implements GraphSource {
  constructor(
    private readonly graph: OnnxGraph,
    private readonly source: string,
    private readonly sizes: ServedSizes | null = null,
  ) {}

  async graphFor(height: number, width: number): Promise<OnnxGraph> {
    if (this.sizes) {
      if (serves(this.sizes, height, width)) return this.graph;
      const crop = `${servedWithin(this.sizes.height, height)}x${servedWithin(this.sizes.width, width)}`;
      throw new InputError(
        `${this.source} takes ${describeSizes(this.sizes)}; this input is ${height}x${width}: use --mode slide --crop ${crop}, or run the checkpoint itself with --runtime onnx`,
      );
    }
    const [, gh, gw] = this.graph.dims;
    if ((gh !== null && gh !== height) || (gw !== null && gw !== width))
      throw new InputError(
        `${this.source} takes ${gh ?? 'any'}x${gw ?? 'any'} inputs (exported at a fixed size), this input is ${height}x${width}: use --mode slide --crop ${gh ?? height}x${gw ?? width}, or run the checkpoint itself with --runtime onnx`,
      );
    return this.graph;
  }

  release(): Promise<void> {
    return this.graph.session.release();
  }
}

/**
 * Graphs exported from a model in memory, the most recent `capacity` kept. A graph of dynamic
 * size (its `semseg.sizes` metadata) serves every size of its residue class, so one session runs
 * them all; a graph of fixed size serves its own (sliding windows have one).
 */
export class ExportedGraphs implements GraphSource {
  private readonly cache = new Map<string, Promise<OnnxGraph>>();
  private readonly served = new Map<string, ServedSizes>();

  constructor(
    private readonly runtime: OrtRuntime,
    private readonly exportGraph: (height: number, width: number) => Uint8Array,
    private readonly source: string,
    private readonly capacity = 2,
  ) {}

  graphFor(height: number, width: number): Promise<OnnxGraph> {
    let key = `${height}x${width}`;
    if (!this.cache.has(key)) {
      for (const [k, sizes] of this.served) if (this.cache.has(k) && serves(sizes, height, width)) key = k;
    }
    const cached = this.cache.get(key);
    if (cached) {
      // Most recently used last.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const bytes = this.exportGraph(height, width);
    const sizes = servedSizesOf(readMetadataProps(bytes, this.source));
    if (sizes && !serves(sizes, height, width))
      throw new InputError(
        `${this.source}: the graph exported at ${key} does not serve ${key} (${describeSizes(sizes)})`,
      );
    if (sizes) this.served.set(key, sizes);
    const created = this.runtime
      .createSession(bytes)
      .then((session) => describeGraph(session, `${this.source} (${key})`));
    this.cache.set(key, created);
    created.catch(() => {
      this.cache.delete(key);
      this.served.delete(key);
    });
    while (this.cache.size > this.capacity) {
      const [oldest, graph] = this.cache.entries().next().value as [string, Promise<OnnxGraph>];
      this.cache.delete(oldest);
      this.served.delete(oldest);
      void graph.then((g) => g.session.release()).catch(() => {});
    }
    return created;
  }

  async release(): Promise<void> {
    const graphs = [...this.cache.values()];
    this.cache.clear();
    this.served.clear();
    await Promise.all(graphs.map((g) => g.then((x) => x.session.release()).catch(() => {})));
  }
}

export interface OnnxModelInfo {
  numClasses: number;
  normalization?: Normalization;
  config?: Record<string, unknown>;
  /** Valid-padded models (U-Net): the output size for an input size, as the tfjs model says. */
  outputSize?: (input: [number, number]) => [number, number];
}

/**
 * A segmentation model whose network runs in onnxruntime: the engine's inference path
 * (`predictImageAsync`, the Evaluator, proposals) awaits `forwardAsync` and keeps its own
 * normalisation, windows, scales, flips, softmax and CRF around it. It holds no tfjs weights.
 */
export class OnnxSegmentationModel extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly normalization?: Normalization;
  readonly config?: Record<string, unknown>;
  readonly outputSize?: (input: [number, number]) => [number, number];
  private released = false;

  constructor(
    private readonly runtime: OrtRuntime,
    private readonly graphs: GraphSource,
    info: OnnxModelInfo,
  ) {
    super();
    this.numClasses = info.numClasses;
    if (info.normalization) this.normalization = info.normalization;
    if (info.config) this.config = info.config;
    if (info.outputSize) this.outputSize = info.outputSize;
  }

  forward(): tf.Tensor4D {
    throw new InputError(
      'this model runs in onnxruntime, asynchronously: use predictImageAsync (or forwardAsync)',
    );
  }

  async forwardAsync(images: tf.Tensor4D): Promise<tf.Tensor4D> {
    if (this.released) throw new InputError('this onnxruntime model was disposed');
    const [n, h, w, c] = images.shape;
    if (c !== 3) throw new InputError(`onnxruntime model: images must have 3 channels, got ${c}`);
    const graph = await this.graphs.graphFor(h, w);
    const values = (await images.data()) as Float32Array;
    const fixedBatch = graph.dims[0];
    // A graph of fixed batch (1) takes the batch one image at a time.
    const step = fixedBatch ?? n;
    if (n % step !== 0)
      throw new InputError(`onnxruntime model: a batch of ${n} for a graph of batch ${step}`);
    const pixels = h * w;
    const [oh, ow] = this.outputSize ? this.outputSize([h, w]) : [h, w];
    const outPixels = oh * ow;
    const out = new Float32Array(n * outPixels * this.numClasses);
    for (let i = 0; i < n; i += step) {
      const feed = this.runtime.tensor(values.subarray(i * pixels * 3, (i + step) * pixels * 3), [
        step,
        h,
        w,
        3,
      ]);
      const result = (await graph.session.run({ [graph.input]: feed }))[graph.output];
      const dims = result?.dims ?? [];
      if (
        dims.length !== 4 ||
        dims[0] !== step ||
        dims[1] !== oh ||
        dims[2] !== ow ||
        dims[3] !== this.numClasses
      )
        throw new InputError(
          `onnxruntime model: logits [${dims.join(', ')}] for images [${step}, ${h}, ${w}, 3]; expected [${step}, ${oh}, ${ow}, ${this.numClasses}]`,
        );
      if (!(result!.data instanceof Float32Array))
        throw new InputError('onnxruntime model: logits must be float32');
      out.set(result!.data, i * outPixels * this.numClasses);
    }
    return tf.tensor4d(out, [n, oh, ow, this.numClasses]);
  }

  /** Releases the onnxruntime sessions (asynchronously; `release()` to wait). */
  override dispose(): void {
    void this.release();
    super.dispose();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.graphs.release();
  }
}
