import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import { describe, expect, it } from 'vitest';
import { WeightsError, readWeights, writePytorch, writeSafetensors } from '../src/index.js';
import { readWeightsFile } from '../src/node.js';

const skip = torchSkipReason() !== null;

// Every tensor written by real PyTorch, with its values as JSON for comparison.
const WRITE = `
import sys, json, struct, collections, torch
d = sys.argv[1]
torch.manual_seed(0)
base = torch.randn(6, 4)
sd = collections.OrderedDict()
sd['conv.weight'] = torch.randn(3, 2, 3, 3)
sd['transposed'] = base.t()              # strides (1, 4): not contiguous
sd['view'] = base[2:5, 1:3]               # storage offset 9, strides (4, 1)
sd['half'] = torch.randn(5).half()
sd['bf16'] = torch.randn(5).bfloat16()
sd['double'] = torch.randn(2, 2).double()
sd['num_batches_tracked'] = torch.tensor(7, dtype=torch.long)
sd['param'] = torch.nn.Parameter(torch.randn(3))
torch.save(sd, d + '/plain.pth')
torch.save({'model': sd, 'epoch': 3, 'args': __import__('argparse').Namespace(lr=0.1), 'optimizer': {'state': {}, 'param_groups': [{'lr': 0.01}]}}, d + '/nested.pth')
torch.save({'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in sd.items())}, d + '/ddp.pth')
torch.save(sd, d + '/legacy.pth', _use_new_zipfile_serialization=False)
values = {k: v.detach().float().reshape(-1).tolist() for k, v in sd.items()}
shapes = {k: list(v.shape) for k, v in sd.items()}
# safetensors by hand (the format is 8 bytes of header length, JSON, raw little-endian data)
st = collections.OrderedDict([('a.f32', sd['conv.weight']), ('b.f16', sd['half']), ('c.bf16', sd['bf16']), ('d.i64', torch.tensor([1, -2, 3], dtype=torch.long))])
names = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64'}
header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
for k, t in st.items():
    raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.contiguous().numpy().tobytes()
    header[k] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
    blobs.append(raw); off += len(raw)
h = json.dumps(header).encode()
open(d + '/weights.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
values.update({k: v.float().reshape(-1).tolist() for k, v in st.items()})
shapes.update({k: list(v.shape) for k, v in st.items()})
json.dump({'values': values, 'shapes': shapes}, open(d + '/values.json', 'w'))
`;

describe.skipIf(skip)('PyTorch and safetensors files written by PyTorch', () => {
  const out = skip
    ? { files: {} as Record<string, Uint8Array> }
    : runTorchScript(WRITE, {
        read: ['plain.pth', 'nested.pth', 'ddp.pth', 'legacy.pth', 'weights.safetensors', 'values.json'],
      });
  const expected = skip
    ? { values: {}, shapes: {} }
    : (JSON.parse(new TextDecoder().decode(out.files['values.json'])) as {
        values: Record<string, number[]>;
        shapes: Record<string, number[]>;
      });

  const check = (tensors: Map<string, { shape: number[]; toFloat32(): Float32Array }>, names: string[]) => {
    for (const name of names) {
      const t = tensors.get(name);
      expect(t, name).toBeDefined();
      expect(t!.shape).toEqual(expected.shapes[name]);
      const want = expected.values[name]!;
      const got = Array.from(t!.toFloat32());
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    }
  };
  const torchNames = [
    'conv.weight',
    'transposed',
    'view',
    'half',
    'bf16',
    'double',
    'num_batches_tracked',
    'param',
  ];

  it('reads a state_dict with strides, storage offsets and every dtype', async () => {
    const file = await readWeights({ name: 'plain.pth', data: out.files['plain.pth']! });
    expect(file.format).toBe('pytorch');
    expect([...file.tensors.keys()]).toEqual(torchNames);
    expect(file.tensors.get('half')!.dtype).toBe('F16');
    check(file.tensors, torchNames);
  });

  it("finds the state_dict under 'model' next to a Namespace and an optimizer, and strips DDP's module. prefix", async () => {
    const nested = await readWeights({ name: 'nested.pth', data: out.files['nested.pth']! });
    check(nested.tensors, torchNames);
    const ddp = await readWeights({ name: 'ddp.pth', data: out.files['ddp.pth']! });
    expect([...ddp.tensors.keys()]).toEqual(torchNames);
  });

  it('the legacy (pre-1.6) format is refused with how to re-save it', async () => {
    await expect(readWeights({ name: 'legacy.pth', data: out.files['legacy.pth']! })).rejects.toThrow(
      /^legacy\.pth: is a torch\.save file in the legacy format \(PyTorch < 1\.6\); load it in PyTorch and save it again/,
    );
  });

  it('reads safetensors F32, F16, BF16 and I64', async () => {
    const file = await readWeights({ name: 'w.safetensors', data: out.files['weights.safetensors']! });
    expect(file.format).toBe('safetensors');
    check(file.tensors, ['a.f32', 'b.f16', 'c.bf16', 'd.i64']);
  });

  it('reads from a path with positioned reads (Node)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'semseg-weights-'));
    try {
      writeFileSync(join(dir, 'plain.pth'), out.files['plain.pth']!);
      const file = await readWeightsFile(join(dir, 'plain.pth'));
      check(file.tensors, torchNames);
      file.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('truncated files are one-line errors naming the file', async () => {
    const data = out.files['plain.pth']!;
    const cut = data.subarray(0, Math.floor(data.length * 0.6));
    await expect(readWeights({ name: 'cut.pth', data: cut })).rejects.toThrow(
      /^cut\.pth: truncated zip archive/,
    );
    const st = out.files['weights.safetensors']!;
    await expect(
      readWeights({ name: 'cut.safetensors', data: st.subarray(0, st.length - 3) }),
    ).rejects.toThrow(/^cut\.safetensors: truncated: tensor 'd\.i64' ends at byte/);
  });

  it('writes .pth and .safetensors that PyTorch loads with load_state_dict(strict=True)', () => {
    const weight = Float32Array.from({ length: 2 * 3 * 3 * 3 }, (_, i) => Math.sin(i));
    const bias = Float32Array.from([0.5, -0.25]);
    const tensors = new Map([
      ['0.weight', { dtype: 'float32' as const, shape: [2, 3, 3, 3], data: weight }],
      ['0.bias', { dtype: 'float32' as const, shape: [2], data: bias }],
      ['1.weight', { dtype: 'float32' as const, shape: [2], data: Float32Array.from([1, 2]) }],
      ['1.bias', { dtype: 'float32' as const, shape: [2], data: Float32Array.from([0, 1]) }],
      ['1.running_mean', { dtype: 'float32' as const, shape: [2], data: Float32Array.from([0.1, 0.2]) }],
      ['1.running_var', { dtype: 'float32' as const, shape: [2], data: Float32Array.from([1, 4]) }],
      ['1.num_batches_tracked', { dtype: 'int64' as const, shape: [], data: BigInt64Array.from([12n]) }],
    ]);
    const run = runTorchScript(
      `
import sys, struct, json, torch
d = sys.argv[1]
def net():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.BatchNorm2d(2)).eval()
a = net(); a.load_state_dict(torch.load(d + '/w.pth'), strict=True)
raw = open(d + '/w.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]; header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
sd = {}
for k, v in header.items():
    if k == '__metadata__': continue
    dt = {'F32': torch.float32, 'I64': torch.int64}[v['dtype']]
    b, e = v['data_offsets']
    sd[k] = torch.frombuffer(bytearray(data[b:e]), dtype=dt).reshape(v['shape'])
b = net(); b.load_state_dict(sd, strict=True)
x = torch.arange(3 * 5 * 5, dtype=torch.float32).reshape(1, 3, 5, 5) / 10
print(json.dumps({'pth': a(x).reshape(-1).tolist(), 'st': b(x).reshape(-1).tolist(), 'nbt': int(a[1].num_batches_tracked)}))
`,
      { files: { 'w.pth': writePytorch(tensors), 'w.safetensors': writeSafetensors(tensors) } },
    );
    const result = JSON.parse(run.stdout) as { pth: number[]; st: number[]; nbt: number };
    expect(result.nbt).toBe(12);
    expect(result.pth).toEqual(result.st);
    // The first output by hand: conv at (0, 0, 0), then batch norm in eval mode.
    let conv = bias[0]!;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 3; x++)
          conv += weight[((0 * 3 + c) * 3 + y) * 3 + x]! * ((c * 25 + y * 5 + x) / 10);
    expect(result.pth[0]).toBeCloseTo(((conv - 0.1) / Math.sqrt(1 + 1e-5)) * 1 + 0, 4);
  });
});

describe.skipIf(skip)('a pickle that asks for code', () => {
  it('is refused before anything runs, naming the global', async () => {
    const run = runTorchScript(
      `
import sys, os, zipfile, pickle
d = sys.argv[1]
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + d + '/pwned',))
with zipfile.ZipFile(d + '/evil.pth', 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps({'weight': Evil()}, protocol=2))
    z.writestr('archive/version', '3\\n')
`,
      { read: ['evil.pth'] },
    );
    const data = run.files['evil.pth']!;
    const error = await readWeights({ name: 'evil.pth', data }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsError);
    expect((error as Error).message).toMatch(/^evil\.pth: the pickle asks for '(posix|os)\.system'.*refused/);
    expect((error as Error).message).not.toMatch(/\n/);
  });
});
