// Keras HDF5 weights (`model.save_weights` / `model.save`), read with h5wasm. Tensors are named
// `<layer>/<i>` in the order of the layer group's `weight_names` attribute, the order Keras
// itself loads them in (kernel, then bias), so both the published names (`block1_conv1_W_1:0`)
// and newer ones (`block1_conv1/kernel:0`) work.
import { WeightsError } from '../errors.js';
import type { ForeignTensor, WeightFile } from '../types.js';

/** The 8-byte signature every HDF5 file starts with. */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

type H5Module = typeof import('h5wasm');
type H5Runtime = Awaited<H5Module['ready']>;
interface H5 {
  mod: H5Module;
  FS: H5Runtime['FS'];
}
let provided: H5Module | undefined;
let h5: Promise<H5> | undefined;

/**
 * Supplies h5wasm (`setHdf5Module(await import('h5wasm'))`). Node finds it by itself; bundled
 * apps that want to read Keras HDF5 files call this, since the import below is hidden from
 * bundlers on purpose: h5wasm is 4.8 MB that no page should carry unless it reads HDF5.
 */
export function setHdf5Module(mod: H5Module): void {
  provided = mod;
  h5 = undefined;
}

function loadH5wasm(file: string): Promise<H5> {
  h5 ??= (async () => {
    let mod = provided;
    if (!mod) {
      const specifier = 'h5wasm';
      try {
        mod = (await import(/* @vite-ignore */ specifier)) as H5Module;
      } catch (e) {
        h5 = undefined;
        throw new WeightsError(
          file,
          `reading Keras HDF5 needs h5wasm (${(e as Error).message.split('\n')[0]}); in a bundled app call setHdf5Module(await import('h5wasm')) first`,
        );
      }
    }
    return { mod, FS: (await mod.ready).FS };
  })();
  return h5;
}

function toStrings(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)));
}

let counter = 0;

/** Reads every layer's weights of a Keras HDF5 file (a `model_weights` group of a whole-model save too). */
export async function readKerasHdf5(bytes: Uint8Array, file: string): Promise<WeightFile> {
  if (!isHdf5(bytes)) throw new WeightsError(file, 'is not an HDF5 file (bad signature)');
  const { mod, FS } = await loadH5wasm(file);
  const name = `/semseg-weights-${Date.now()}-${counter++}.h5`;
  FS.writeFile(name, bytes);
  let h5file: InstanceType<H5Module['File']> | undefined;
  try {
    h5file = new mod.File(name, 'r');
    const root = h5file.keys().includes('model_weights')
      ? (h5file.get('model_weights') as InstanceType<H5Module['Group']>)
      : h5file;
    const layerNames = toStrings(root.attrs.layer_names?.value);
    if (layerNames.length === 0) {
      throw new WeightsError(file, 'has no "layer_names" attribute: not a Keras weights file');
    }
    const tensors = new Map<string, ForeignTensor>();
    for (const layer of layerNames) {
      const group = root.get(layer) as InstanceType<H5Module['Group']> | null;
      if (!group) throw new WeightsError(file, `layer '${layer}' is listed in layer_names but has no group`);
      toStrings(group.attrs.weight_names?.value)
        .filter((w) => w !== '')
        .forEach((w, i) => {
          const dataset = group.get(w) as InstanceType<H5Module['Dataset']> | null;
          if (!dataset) throw new WeightsError(file, `tensor '${layer}/${i}': dataset '${w}' is missing`);
          const value = dataset.value;
          if (!(value instanceof Float32Array) && !(value instanceof Float64Array)) {
            throw new WeightsError(file, `tensor '${layer}/${i}': dataset '${w}' is not floating point`);
          }
          const data = value instanceof Float32Array ? value : Float32Array.from(value);
          tensors.set(`${layer}/${i}`, {
            dtype: value instanceof Float32Array ? 'F32' : 'F64',
            shape: [...(dataset.shape ?? [])],
            toFloat32: () => data.slice(),
          });
        });
    }
    return { file, format: 'keras', tensors };
  } catch (e) {
    if (e instanceof WeightsError) throw e;
    throw new WeightsError(file, `cannot be read as HDF5 (${(e as Error).message ?? String(e)})`);
  } finally {
    h5file?.close();
    FS.unlink(name);
  }
}
