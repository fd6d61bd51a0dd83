// Shared by the exporter tests: the ONNX checker (Debian's python3-onnx) and onnxruntime-node runs.
import { execFileSync } from 'node:child_process';
import { runTorchScriptAsync, torchPython } from '@semseg/tooling/python';
import * as ort from 'onnxruntime-node';

/** Why the ONNX checker cannot run here, or null. In CI a missing checker is an error, not a skip. */
export function onnxCheckerSkipReason(): string | null {
  const python = torchPython();
  let reason: string | null = null;
  if (python === null) reason = 'no Debian python3 (python3-onnx)';
  else {
    try {
      execFileSync(python, ['-c', 'import onnx'], { stdio: 'ignore' });
    } catch {
      reason = `${python} has no onnx module (apt-get install python3-onnx)`;
    }
  }
  if (reason !== null && process.env.CI) throw new Error(`the ONNX checker is required in CI: ${reason}`);
  return reason;
}

const CHECK_SCRIPT = `
import json, os, sys, onnx
out = {}
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    if not name.endswith('.onnx'):
        continue
    try:
        m = onnx.load(os.path.join(folder, name))
        onnx.checker.check_model(m, full_check=True)
        out[name] = {'ok': True, 'opset': m.opset_import[0].version, 'ir': m.ir_version,
                     'meta': {p.key: p.value for p in m.metadata_props}}
    except Exception as e:
        out[name] = {'ok': False, 'error': str(e)[:2000]}
print(json.dumps(out))
`;

export interface CheckResult {
  ok: boolean;
  error?: string;
  opset?: number;
  ir?: number;
  meta?: Record<string, string>;
}

/** Runs onnx.checker.check_model(full_check=True) on each file (by name). */
export async function checkModels(models: Record<string, Uint8Array>): Promise<Record<string, CheckResult>> {
  const files = Object.fromEntries(Object.entries(models).map(([n, b]) => [`${n}.onnx`, b]));
  const { stdout } = await runTorchScriptAsync(CHECK_SCRIPT, { files, timeoutMs: 120_000 });
  const parsed = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, CheckResult>;
  return Object.fromEntries(Object.entries(parsed).map(([n, r]) => [n.replace(/\.onnx$/, ''), r]));
}

/** Runs the exported graph in onnxruntime-node on NHWC float32 input; returns the output tensor. */
export async function runOnnx(
  bytes: Uint8Array,
  input: Float32Array,
  shape: number[],
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, shape) };
    const result = await session.run(feeds);
    const out = result[session.outputNames[0]!]!;
    return { data: out.data as Float32Array, dims: out.dims };
  } finally {
    await session.release();
  }
}

/** Softmax over the last axis of an NHWC array. */
export function softmaxLast(logits: Float32Array, classes: number): Float64Array {
  const p = new Float64Array(logits.length);
  for (let o = 0; o < logits.length; o += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[o + k]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += p[o + k] = Math.exp(logits[o + k]! - max);
    for (let k = 0; k < classes; k++) p[o + k]! /= sum;
  }
  return p;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const BATCH_NORM_SCRIPT = `
import json, sys, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1] + '/model.onnx')
inits = {i.name: numpy_helper.to_array(i).tolist() for i in m.graph.initializer}
out = []
for n in m.graph.node:
    if n.op_type == 'BatchNormalization':
        eps = [a.f for a in n.attribute if a.name == 'epsilon']
        out.append({'scale': inits[n.input[1]], 'bias': inits[n.input[2]], 'mean': inits[n.input[3]],
                    'var': inits[n.input[4]], 'epsilon': eps[0] if eps else 1e-5})
print(json.dumps(out))
`;

export interface BatchNormNode {
  scale: number[];
  bias: number[];
  mean: number[];
  var: number[];
  epsilon: number;
}

/** The BatchNormalization nodes of a graph with their initializers, read by python3-onnx. */
export async function batchNormNodes(bytes: Uint8Array): Promise<BatchNormNode[]> {
  const { stdout } = await runTorchScriptAsync(BATCH_NORM_SCRIPT, {
    files: { 'model.onnx': bytes },
    timeoutMs: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as BatchNormNode[];
}
