import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { CheckpointError } from './errors.js';
import type { Module, StateDict } from './module.js';
import { type Sha256, sha256Hex } from './sha256.js';
import type { ArchitectureSpec, Normalization, Rgb } from './types.js';

export const CHECKPOINT_FORMAT = 'semseg-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** Tensors whose name starts with this belong to the optimiser, not the model. */
export const OPTIMIZER_PREFIX = 'optimizer/';

const normalizationSchema = z.object({
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  scale: z.union([z.literal(1), z.literal(255)]),
  channelOrder: z.enum(['rgb', 'bgr']),
});

const rgbSchema = z.tuple([
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
  z.number().int().min(0).max(255),
]);

const weightSpecSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32']),
});

const manifestSchema = z
  .array(z.object({ paths: z.array(z.string()).min(1), weights: z.array(weightSpecSchema) }))
  .min(1);

/** Training state saved for `--resume`: free-form beyond the fields named here. */
const trainingSchema = z
  .object({
    step: z.number().int().nonnegative(),
    epoch: z.number().int().nonnegative().optional(),
  })
  .passthrough();

const checkpointJsonSchema = z.object({
  format: z.string(),
  version: z.number().int(),
  architecture: z.object({ name: z.string().min(1), config: z.record(z.string(), z.unknown()) }),
  classes: z.array(z.string()).min(1),
  palette: z.array(rgbSchema),
  normalization: normalizationSchema,
  training: trainingSchema.nullable().optional(),
  /** SHA-256 of weights.bin; checkpoints written before it existed have none and still load. */
  weightsSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
    .optional(),
  weightsManifest: manifestSchema,
});

export type TrainingState = z.infer<typeof trainingSchema>;

/** Everything a checkpoint says besides its tensors. */
export interface CheckpointMeta {
  architecture: ArchitectureSpec;
  classes: string[];
  palette: Rgb[];
  normalization: Normalization;
  training?: TrainingState | null;
}

export interface CheckpointJson extends CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  weightsSha256?: string;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

export interface EncodedCheckpoint {
  modelJson: CheckpointJson;
  weights: Uint8Array;
}

export interface DecodedCheckpoint {
  meta: CheckpointMeta;
  /** Model tensors (names without the optimiser prefix). The caller owns and disposes them. */
  tensors: StateDict;
  /** Optimiser tensors, names with OPTIMIZER_PREFIX stripped. The caller owns them. */
  optimizerTensors: StateDict;
}

/**
 * Serialises tensors and metadata into the checkpoint's two files (model.json and weights.bin);
 * model.json records weights.bin's SHA-256 (`sha256` lets Node pass node:crypto's digest).
 */
export async function encodeCheckpoint(
  tensors: StateDict,
  meta: CheckpointMeta,
  optimizerTensors: StateDict = {},
  sha256: Sha256 = sha256Hex,
): Promise<EncodedCheckpoint> {
  const named: tf.NamedTensorMap = { ...tensors };
  for (const [name, t] of Object.entries(optimizerTensors)) named[OPTIMIZER_PREFIX + name] = t;
  const { data, specs } = await tf.io.encodeWeights(named);
  const buffer = data instanceof ArrayBuffer ? data : new Uint8Array(data as ArrayBufferLike).buffer;
  const weights = new Uint8Array(buffer);
  const modelJson: CheckpointJson = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    architecture: meta.architecture,
    classes: meta.classes,
    palette: meta.palette,
    normalization: meta.normalization,
    training: meta.training ?? null,
    weightsSha256: sha256(weights),
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
  };
  return { modelJson, weights };
}

/** Parses and validates model.json; `file` names it in errors. */
export function parseCheckpointJson(text: string, file = MODEL_JSON): CheckpointJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null) throw new CheckpointError(file, 'is not a JSON object');
  const format = (raw as { format?: unknown }).format;
  if (format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      file,
      format === undefined
        ? `has no "format" field: not a semseg checkpoint`
        : `format ${JSON.stringify(format)} is not a semseg checkpoint (expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  const version = (raw as { version?: unknown }).version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new CheckpointError(file, `version ${JSON.stringify(version)} is not a valid checkpoint version`);
  }
  if (version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      file,
      `checkpoint version ${version} is newer than this @semseg/core reads (${CHECKPOINT_VERSION}); upgrade @semseg/core`,
    );
  }
  const parsed = checkpointJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CheckpointError(file, `invalid checkpoint metadata: ${issues.join('; ')}`);
  }
  return parsed.data as CheckpointJson;
}

const BYTES_PER_ELEMENT = { float32: 4, int32: 4 } as const;

/** Bytes the manifest's tensors need. */
export function manifestByteLength(json: CheckpointJson): number {
  let total = 0;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      total += size * BYTES_PER_ELEMENT[w.dtype as 'float32' | 'int32'];
    }
  }
  return total;
}

/**
 * Turns the two files' contents into metadata and tensors, checking that weights.bin holds
 * exactly what the manifest describes and, where model.json records one, that its SHA-256
 * matches. `files` name the files in errors; `sha256` replaces the pure-TS digest (Node passes
 * node:crypto's).
 */
export function decodeCheckpoint(
  modelJsonText: string,
  weights: Uint8Array | ArrayBuffer,
  files: { modelJson?: string; weights?: string } = {},
  sha256: Sha256 = sha256Hex,
): DecodedCheckpoint {
  const jsonFile = files.modelJson ?? MODEL_JSON;
  const weightsFile = files.weights ?? WEIGHTS_BIN;
  const json = parseCheckpointJson(modelJsonText, jsonFile);
  const bytes = weights instanceof Uint8Array ? weights : new Uint8Array(weights);
  const expected = manifestByteLength(json);
  if (bytes.byteLength !== expected) {
    const what = bytes.byteLength < expected ? 'truncated' : 'longer than the manifest says';
    throw new CheckpointError(
      weightsFile,
      `has ${bytes.byteLength} bytes but ${jsonFile} describes ${expected} (${what}; wrong or damaged file)`,
    );
  }
  if (json.weightsSha256 !== undefined) {
    const actual = sha256(bytes);
    if (actual !== json.weightsSha256) {
      throw new CheckpointError(
        weightsFile,
        `SHA-256 ${actual} does not match ${json.weightsSha256} recorded in ${jsonFile} (altered or damaged file)`,
      );
    }
  }
  const seen = new Set<string>();
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  for (const spec of specs) {
    if (seen.has(spec.name)) throw new CheckpointError(jsonFile, `tensor '${spec.name}' is listed twice`);
    seen.add(spec.name);
  }
  // decodeWeights needs an ArrayBuffer holding exactly the weights.
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const all = tf.io.decodeWeights(buffer, specs);
  const tensors: StateDict = {};
  const optimizerTensors: StateDict = {};
  for (const [name, t] of Object.entries(all)) {
    if (name.startsWith(OPTIMIZER_PREFIX)) optimizerTensors[name.slice(OPTIMIZER_PREFIX.length)] = t;
    else tensors[name] = t;
  }
  const { architecture, classes, palette, normalization, training } = json;
  return {
    meta: { architecture, classes, palette, normalization, training: training ?? null },
    tensors,
    optimizerTensors,
  };
}

/**
 * Loads a decoded checkpoint's model tensors into a module, then disposes them (and the
 * optimiser tensors unless `keepOptimizer`). Errors name `source`.
 */
export function applyCheckpoint(
  module: Module,
  checkpoint: DecodedCheckpoint,
  options: { strict?: boolean; source?: string; keepOptimizer?: boolean } = {},
): void {
  try {
    module.loadStateDict(checkpoint.tensors, { strict: options.strict ?? true, source: options.source });
  } finally {
    tf.dispose(Object.values(checkpoint.tensors));
    if (!options.keepOptimizer) tf.dispose(Object.values(checkpoint.optimizerTensors));
  }
}
