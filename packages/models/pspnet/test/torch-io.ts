// Float32 arrays to and from the Python reference: a JSON list of names, shapes and offsets next to
// one binary file, read there with numpy (no pickles, nothing to install).
import { runTorchScript } from '@semseg/tooling/python';
import type * as tf from '@tensorflow/tfjs-core';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** Python helpers the scripts start with: `D` (their folder), `load_arrays()`, `save_arrays(dict)`. */
const PY_PRELUDE = `
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
D = sys.argv[1]

def load_arrays():
    meta = json.load(open(os.path.join(D, 'in.json')))
    raw = open(os.path.join(D, 'in.bin'), 'rb').read()
    out = {}
    for m in meta:
        count = int(np.prod(m['shape'])) if m['shape'] else 1
        a = np.frombuffer(raw, dtype=np.float32, count=count, offset=m['offset'])
        out[m['name']] = torch.from_numpy(a.reshape(m['shape']).copy())
    return out

def save_arrays(arrays):
    meta, chunks, offset = [], [], 0
    for name, t in arrays.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))
        meta.append({'name': name, 'shape': list(a.shape), 'offset': offset})
        chunks.append(a.tobytes())
        offset += a.nbytes
    json.dump(meta, open(os.path.join(D, 'out.json'), 'w'))
    open(os.path.join(D, 'out.bin'), 'wb').write(b''.join(chunks))

def nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()

def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()
`;

function pack(arrays: Record<string, NamedArray>): { json: string; bin: Uint8Array } {
  const meta: Array<{ name: string; shape: number[]; offset: number }> = [];
  let total = 0;
  for (const [name, a] of Object.entries(arrays)) {
    meta.push({ name, shape: a.shape, offset: total });
    total += a.data.byteLength;
  }
  const bin = new Uint8Array(total);
  for (const m of meta) {
    const a = arrays[m.name]!;
    bin.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), m.offset);
  }
  return { json: JSON.stringify(meta), bin };
}

function unpack(json: Uint8Array, bin: Uint8Array): Record<string, NamedArray> {
  const meta = JSON.parse(new TextDecoder().decode(json)) as Array<{
    name: string;
    shape: number[];
    offset: number;
  }>;
  const out: Record<string, NamedArray> = {};
  for (const m of meta) {
    const size = m.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(bin.subarray(m.offset, m.offset + size * 4));
    out[m.name] = { shape: m.shape, data };
  }
  return out;
}

/**
 * Runs `body` after the prelude with `inputs` available through `load_arrays()`; returns what it
 * saved with `save_arrays` and the other files it wrote that `read` names.
 */
export function runTorchFiles(
  body: string,
  inputs: Record<string, NamedArray>,
  read: string[] = [],
): { arrays: Record<string, NamedArray>; files: Record<string, Uint8Array> } {
  const { json, bin } = pack(inputs);
  const result = runTorchScript(`${PY_PRELUDE}\n${body}\n`, {
    files: { 'in.json': json, 'in.bin': bin },
    read: ['out.json', 'out.bin', ...read],
  });
  return { arrays: unpack(result.files['out.json']!, result.files['out.bin']!), files: result.files };
}

/** Runs `body` after the prelude with `inputs` available through `load_arrays()`; returns what it saved. */
export function runTorch(body: string, inputs: Record<string, NamedArray>): Record<string, NamedArray> {
  return runTorchFiles(body, inputs).arrays;
}

/** A tensor's values and shape, for `runTorch`. */
export function arrayOf(t: tf.Tensor): NamedArray {
  return { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
