import { readFile } from 'node:fs/promises';
import { BackendError, type CheckpointMeta, InputError, type SegmentationModel } from '@semseg/core';
import { type ModelOnRuntimeOptions, onnxModelOn } from '../runtime/from-model.js';
import { readCheckpointMetadata } from '../runtime/metadata.js';
import { readMetadataProps } from '../runtime/model-proto.js';
import {
  FileGraph,
  OnnxSegmentationModel,
  type OrtRuntime,
  type OrtSessionLike,
  describeGraph,
} from '../runtime/network.js';
import { servedSizesOf } from '../size.js';

type OnnxRuntimeNode = typeof import('onnxruntime-node');

/** What to run when onnxruntime-node is missing (its CPU build is in the npm package). */
export const ONNXRUNTIME_INSTALL_HINT = 'npm install onnxruntime-node@1.30.0';

let loaded: Promise<OnnxRuntimeNode> | null = null;

function importRuntime(specifier: string): Promise<OnnxRuntimeNode> {
  return (import(specifier) as Promise<OnnxRuntimeNode & { default?: OnnxRuntimeNode }>)
    .then((m) => (m.InferenceSession ? m : (m.default ?? m)))
    .catch((error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ERR_MODULE_NOT_FOUND' || error.code === 'MODULE_NOT_FOUND';
      throw new BackendError(
        missing
          ? `--runtime onnx needs ${specifier}, which is not installed: ${ONNXRUNTIME_INSTALL_HINT}`
          : `${specifier} did not load (${String(error.message).split('\n')[0]}): reinstall it with ${ONNXRUNTIME_INSTALL_HINT}`,
      );
    });
}

/**
 * onnxruntime-node, imported on first use. It is an optional dependency: when it is missing (or
 * its native binding does not load) the error says so in one line and how to install it.
 * (`specifier` is for tests: a package that is not there.)
 */
export function loadOnnxRuntimeNode(specifier = 'onnxruntime-node'): Promise<OnnxRuntimeNode> {
  // A computed specifier: bundlers leave the optional native package to the app.
  if (specifier !== 'onnxruntime-node') return importRuntime(specifier);
  loaded ??= importRuntime(specifier).catch((error: unknown) => {
    loaded = null;
    throw error;
  });
  return loaded;
}

export interface NodeRuntimeOptions {
  /** onnxruntime's intra-op threads (`--threads`). Default: onnxruntime's (the physical cores). */
  threads?: number;
}

/** onnxruntime-node's CPU sessions with `threads` intra-op threads, one operator at a time. */
export async function nodeRuntime(options: NodeRuntimeOptions = {}): Promise<OrtRuntime> {
  const ort = await loadOnnxRuntimeNode();
  const sessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all' as const,
    executionMode: 'sequential' as const,
    interOpNumThreads: 1,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
  };
  return {
    createSession: async (graph) =>
      (await ort.InferenceSession.create(graph, sessionOptions)) as unknown as OrtSessionLike,
    tensor: (data, dims) => new ort.Tensor('float32', data, [...dims]),
  };
}

/**
 * An .onnx file written by `semseg export --to onnx`: its network in onnxruntime and the
 * checkpoint description its metadata carries (classes, palette, normalisation).
 */
export async function onnxModelFromFile(
  path: string,
  options: NodeRuntimeOptions = {},
): Promise<{ model: OnnxSegmentationModel; meta: CheckpointMeta }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${code})`);
  }
  const props = readMetadataProps(bytes, path);
  const meta = readCheckpointMetadata(props, path);
  const runtime = await nodeRuntime(options);
  let session: OrtSessionLike;
  try {
    session = await runtime.createSession(bytes);
  } catch (error) {
    throw new InputError(
      `${path}: onnxruntime cannot load it (${String((error as Error).message).split('\n')[0]})`,
    );
  }
  const graph = describeGraph(session, path);
  const model = new OnnxSegmentationModel(runtime, new FileGraph(graph, path, servedSizesOf(props)), {
    numClasses: meta.classes.length,
    normalization: meta.normalization,
    config: meta.architecture.config,
  });
  return { model, meta };
}

/** A model in memory with its network on onnxruntime-node (see `onnxModelOn`). */
export async function onnxModelFromModel(
  model: SegmentationModel,
  options: NodeRuntimeOptions & ModelOnRuntimeOptions = {},
): Promise<OnnxSegmentationModel> {
  return onnxModelOn(await nodeRuntime(options), model, options);
}
