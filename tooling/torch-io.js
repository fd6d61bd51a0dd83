// Float32 arrays (and torch.save files) to and from a PyTorch reference script: a JSON list of
// names, shapes and offsets next to one binary file, read there with numpy (no pickles). One
// implementation for every package's PyTorch tests.
import { runTorchScript, runTorchScriptAsync } from './python.js';

/** What each script starts with: `D` (its folder), `load_arrays()`, `save_arrays(dict)`, `nchw`, `nhwc`. */
export const TORCH_PRELUDE = `
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
torch.set_num_threads(1)
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
        a = np.ascontiguousarray(torch.as_tensor(t).detach().cpu().numpy().astype(np.float32))
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

/**
 * `calibrate(model, inputs)`: batch-norm statistics measured on inputs (train mode, momentum None,
 * then eval), so that random weights give outputs that vary per pixel; `scale_(module, k)`.
 */
export const TORCHVISION_HELPERS = `
import torchvision

def calibrate(model, inputs):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for x in inputs:
            model(x)
    model.eval()

def scale_(module, k):
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(k)
`;

function pack(arrays) {
  const meta = [];
  let total = 0;
  for (const [name, a] of Object.entries(arrays)) {
    meta.push({ name, shape: a.shape, offset: total });
    total += a.data.byteLength;
  }
  const bin = new Uint8Array(total);
  for (const m of meta) {
    const a = arrays[m.name];
    bin.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), m.offset);
  }
  return { json: JSON.stringify(meta), bin };
}

function unpack(json, bin) {
  const meta = JSON.parse(new TextDecoder().decode(json));
  const out = {};
  for (const m of meta) {
    const size = m.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(bin.subarray(m.offset, m.offset + size * 4));
    out[m.name] = { shape: m.shape, data };
  }
  return out;
}

/**
 * Runs `body` after the prelude (and torchvision's helpers) with `inputs` readable by
 * `load_arrays()`; returns what it saved with `save_arrays` and the files named in `read`.
 */
export function runTorchFiles(body, inputs = {}, read = [], extraFiles = {}) {
  const { json, bin } = pack(inputs);
  const result = runTorchScript(`${TORCH_PRELUDE}\n${TORCHVISION_HELPERS}\n${body}\n`, {
    files: { 'in.json': json, 'in.bin': bin, ...extraFiles },
    read: ['out.json', 'out.bin', ...read],
  });
  return { arrays: unpack(result.files['out.json'], result.files['out.bin']), files: result.files };
}

/** `runTorchFiles` without blocking the event loop (for references that take long). */
export async function runTorchFilesAsync(body, inputs = {}, read = [], extraFiles = {}) {
  const { json, bin } = pack(inputs);
  const result = await runTorchScriptAsync(`${TORCH_PRELUDE}\n${TORCHVISION_HELPERS}\n${body}\n`, {
    files: { 'in.json': json, 'in.bin': bin, ...extraFiles },
    read: ['out.json', 'out.bin', ...read],
  });
  return { arrays: unpack(result.files['out.json'], result.files['out.bin']), files: result.files };
}

/** Runs `body` with `inputs`; returns the arrays it saved. */
export function runTorchArrays(body, inputs = {}) {
  return runTorchFiles(body, inputs).arrays;
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
