// PyTorch's torch.save files (zip format, PyTorch >= 1.6): `<archive>/data.pkl` names tensors as
// strided views of storages kept as raw little-endian entries `<archive>/data/<key>`.
import { DTYPE_BYTES, contiguousToFloat32, decodeElements, elementCount } from '../dtype.js';
import { WeightsError } from '../errors.js';
import type { ByteSource, ForeignTensor, WeightFile } from '../types.js';
import {
  type PickleTensor,
  type PickledObject,
  type TorchTensor,
  pickleStateDict,
  unpickle,
} from './pickle.js';
import type { TensorToWrite } from './safetensors.js';
import { writeStoredZip } from './zip-writer.js';
import { type ZipEntry, readEntry, zipEntries } from './zip.js';

/** Keys under which training scripts keep the state dict (torchvision's references: `model`). */
const NESTING_KEYS = ['state_dict', 'model', 'model_state', 'model_state_dict'];

function isTensor(value: unknown): value is TorchTensor {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tensor';
}

function describe(value: unknown): string {
  if (value instanceof Map) return `a dict with keys ${[...value.keys()].slice(0, 6).map(String).join(', ')}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null && (value as PickledObject).kind === 'object') {
    return `a ${(value as PickledObject).className}`;
  }
  return typeof value;
}

/** The state dict inside what torch.save stored: the dict itself or one nested under a usual key. */
function findStateDict(root: unknown, file: string): Map<string, TorchTensor> {
  if (!(root instanceof Map)) {
    throw new WeightsError(file, `holds ${describe(root)}, not a state_dict (save model.state_dict())`);
  }
  const tensors = [...root.entries()].filter(([, v]) => isTensor(v));
  if (tensors.length > 0) {
    return new Map(tensors.map(([k, v]) => [String(k), v as TorchTensor]));
  }
  for (const key of NESTING_KEYS) {
    if (root.has(key)) return findStateDict(root.get(key), file);
  }
  throw new WeightsError(
    file,
    `holds ${describe(root)} and no tensors; expected a state_dict, or one under ${NESTING_KEYS.join(' / ')}`,
  );
}

/** Strips DataParallel / DistributedDataParallel's `module.` prefix when every key has it. */
function withoutDdpPrefix(tensors: Map<string, TorchTensor>): Map<string, TorchTensor> {
  const keys = [...tensors.keys()];
  if (keys.length === 0 || !keys.every((k) => k.startsWith('module.'))) return tensors;
  return new Map([...tensors].map(([k, v]) => [k.slice('module.'.length), v]));
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

function foreignTensor(
  name: string,
  t: TorchTensor,
  entry: ZipEntry,
  source: ByteSource,
  file: string,
): ForeignTensor {
  const { dtype } = t.storage;
  const width = DTYPE_BYTES[dtype]!;
  const count = elementCount(t.shape);
  // The elements this view touches, from its first to its last.
  const span = count === 0 ? 0 : 1 + t.shape.reduce((n, d, i) => n + (d - 1) * t.stride[i]!, 0);
  if ((t.offset + span) * width > entry.size) {
    throw new WeightsError(
      file,
      `tensor '${name}' ([${t.shape}], offset ${t.offset}) reaches past its storage '${entry.name}' (${entry.size} bytes): truncated or damaged`,
    );
  }
  const contiguous = contiguousStrides(t.shape).every((s, i) => t.shape[i] === 1 || s === t.stride[i]);
  const readRange = (first: number, n: number) =>
    contiguousToFloat32(readEntry(source, entry, file, (t.offset + first) * width, n * width), dtype, n);
  return {
    dtype,
    shape: [...t.shape],
    ...(contiguous ? { readRange } : {}),
    toFloat32: () => {
      const bytes = readEntry(source, entry, file, t.offset * width, span * width);
      if (contiguous) return contiguousToFloat32(bytes, dtype, count);
      const dims = t.shape.length;
      const index = new Array<number>(dims).fill(0);
      let position = 0;
      // Walk our C-order output, carrying the file position along the view's strides.
      const positions = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        positions[i] = position;
        for (let d = dims - 1; d >= 0; d--) {
          index[d]!++;
          position += t.stride[d]!;
          if (index[d]! < t.shape[d]!) break;
          position -= t.stride[d]! * t.shape[d]!;
          index[d] = 0;
        }
      }
      return decodeElements(bytes, dtype, count, (i) => positions[i]!);
    },
  };
}

/** Reads the tensors of a torch.save zip archive (only data.pkl is read now; storages on demand). */
export function readPytorch(source: ByteSource, file: string): WeightFile {
  const entries = zipEntries(source, file);
  const pickleEntry = [...entries.values()].find((e) => /(^|\/)data\.pkl$/.test(e.name));
  if (!pickleEntry) {
    throw new WeightsError(file, 'is a zip archive without data.pkl: not a torch.save file');
  }
  const prefix = pickleEntry.name.slice(0, -'data.pkl'.length);
  const root = unpickle(readEntry(source, pickleEntry, file), file);
  const stateDict = withoutDdpPrefix(findStateDict(root, file));
  const tensors = new Map<string, ForeignTensor>();
  for (const [name, t] of stateDict) {
    const entryName = `${prefix}data/${t.storage.key}`;
    const entry = entries.get(entryName);
    if (!entry)
      throw new WeightsError(
        file,
        `tensor '${name}': storage '${entryName}' is missing (truncated archive?)`,
      );
    tensors.set(name, foreignTensor(name, t, entry, source, file));
  }
  return { file, format: 'pytorch', tensors };
}

/** The legacy torch.save format (before PyTorch 1.6) starts with a pickled magic number. */
export function looksLikeLegacyTorch(head: Uint8Array): boolean {
  return head.byteLength > 2 && head[0] === 0x80 && head[1]! <= 5 && head[2] === 0x8a;
}

/**
 * Encodes tensors as a torch.save file of an OrderedDict state dict, which `torch.load` and
 * `load_state_dict(strict=True)` take (float32 tensors and int64 buffers).
 */
export function writePytorch(tensors: ReadonlyMap<string, TensorToWrite>, archive = 'archive'): Uint8Array {
  const records: PickleTensor[] = [];
  const data: Array<{ name: string; data: Uint8Array }> = [];
  let n = 0;
  for (const [key, t] of tensors) {
    if (t.data.length !== elementCount(t.shape)) {
      throw new RangeError(`writePytorch: '${key}' has ${t.data.length} values for shape [${t.shape}]`);
    }
    const storageKey = String(n++);
    records.push({ key, dtype: t.dtype === 'int64' ? 'I64' : 'F32', shape: t.shape, storageKey });
    data.push({
      name: `${archive}/data/${storageKey}`,
      data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    });
  }
  return writeStoredZip([
    { name: `${archive}/data.pkl`, data: pickleStateDict(records) },
    ...data,
    { name: `${archive}/version`, data: new TextEncoder().encode('3\n') },
  ]);
}
