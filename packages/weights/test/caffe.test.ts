// .caffemodel files written by python3-protobuf from BVLC's caffe.proto: V2 `layer` with BlobShape,
// V1 `layers` with legacy dims, a V0 layer inside a V1 one, double_data, a fork's unknown field.
import { readFileSync } from 'node:fs';
import { runTorchScript, torchSkipReason } from '@semseg/tooling/python';
import { describe, expect, it } from 'vitest';
import { readWeights } from '../src/index.js';

const skip = torchSkipReason() !== null;
const PROTO = readFileSync(new URL('fixtures/caffe.proto', import.meta.url), 'utf8');

const SCRIPT = String.raw`
import sys, subprocess
d = sys.argv[1]
subprocess.run(['protoc', '--python_out=' + d, 'caffe.proto'], cwd=d, check=True)
sys.path.insert(0, d)
import caffe_pb2 as pb
w = [float(i) / 8 for i in range(2 * 3 * 2 * 2)]
v2 = pb.NetParameter(name='v2')
l = v2.layer.add(name='conv', type='Convolution')
b = l.blobs.add(); b.shape.dim.extend([2, 3, 2, 2]); b.data.extend(w)
b = l.blobs.add(); b.shape.dim.extend([2]); b.double_data.extend([0.25, -0.5])
l.convolution_param.MergeFromString(bytes([0x88, 0x01, 0x02]))   # DeepLab's hole = 2
v2.layer.add(name='interp', type='Interp')
open(d + '/v2.caffemodel', 'wb').write(v2.SerializeToString())
v1 = pb.NetParameter(name='v1')
l = v1.layers.add(name='fc', type=pb.V1LayerParameter.INNER_PRODUCT)
b = l.blobs.add(num=1, channels=1, height=2, width=12); b.data.extend(w)
old = v1.layers.add()
old.layer.name = 'conv0'; old.layer.type = 'conv'
b = old.layer.blobs.add(num=2, channels=3, height=2, width=2); b.data.extend(w)
open(d + '/v1.caffemodel', 'wb').write(v1.SerializeToString())
`;

describe.skipIf(skip)('caffemodel reader', () => {
  const files = skip
    ? ({} as Record<string, Uint8Array>)
    : runTorchScript(SCRIPT, { files: { 'caffe.proto': PROTO }, read: ['v2.caffemodel', 'v1.caffemodel'] })
        .files;
  const w = Array.from({ length: 24 }, (_, i) => i / 8);

  it('V2: BlobShape, float and double data, unknown fork fields and layers', async () => {
    const file = await readWeights({ name: 'v2.caffemodel', data: files['v2.caffemodel']! });
    expect(file.format).toBe('caffe');
    expect([...file.tensors.keys()]).toEqual(['conv/0', 'conv/1']);
    expect(file.tensors.get('conv/0')!.shape).toEqual([2, 3, 2, 2]);
    expect(Array.from(file.tensors.get('conv/0')!.toFloat32())).toEqual(w);
    expect(file.tensors.get('conv/1')!.dtype).toBe('F64');
    expect(Array.from(file.tensors.get('conv/1')!.toFloat32())).toEqual([0.25, -0.5]);
    expect(Array.from(file.tensors.get('conv/0')!.readRange!(5, 3))).toEqual(w.slice(5, 8));
    expect(file.layerTypes?.get('interp')).toBe('Interp');
  });

  it('V1 with legacy num/channels/height/width, and a V0 layer inside a V1 one', async () => {
    const file = await readWeights({ name: 'v1.caffemodel', data: files['v1.caffemodel']! });
    expect(file.tensors.get('fc/0')!.shape).toEqual([1, 1, 2, 12]);
    expect(file.layerTypes?.get('fc')).toBe('InnerProduct');
    expect(file.tensors.get('conv0/0')!.shape).toEqual([2, 3, 2, 2]);
    expect(Array.from(file.tensors.get('conv0/0')!.toFloat32())).toEqual(w);
    expect(file.layerTypes?.get('conv0')).toBe('conv');
  });

  it('a cut file names the layer', async () => {
    const data = files['v2.caffemodel']!;
    await expect(readWeights({ name: 'cut.caffemodel', data: data.subarray(0, 40) })).rejects.toThrow(
      /^cut\.caffemodel: truncated caffemodel: layer 'conv' at byte \d+ needs \d+ bytes, \d+ remain$/,
    );
  });
});
