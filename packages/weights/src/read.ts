// One entry point for every format: the format is told by the file's bytes, not its name.
import { WeightsError } from './errors.js';
import { looksLikeCaffemodel, readCaffemodel } from './formats/caffe.js';
import { isHdf5, readKerasHdf5 } from './formats/hdf5.js';
import { looksLikeLegacyTorch, readPytorch } from './formats/pytorch.js';
import { looksLikeSafetensors, readSafetensors } from './formats/safetensors.js';
import { type ShardReader, parseTfjsModelJson, readTfjs } from './formats/tfjs.js';
import { looksLikeZip } from './formats/zip.js';
import { type ByteSource, type WeightFile, memorySource } from './types.js';

export interface ReadOptions {
  /** TF.js: reads the weight shards a model.json names (relative paths). */
  readShard?: ShardReader;
}

const LEGACY_TORCH =
  'is a torch.save file in the legacy format (PyTorch < 1.6); load it in PyTorch and save it again with torch.save (zip format)';

/** Reads what a file holds from a ByteSource (Node's readWeightsFile passes positioned reads). */
export async function readWeightsFrom(
  source: ByteSource,
  file: string,
  options: ReadOptions = {},
  whole?: () => Uint8Array,
): Promise<WeightFile> {
  if (source.size === 0) throw new WeightsError(file, 'is empty');
  const head = source.read(0, Math.min(16, source.size));
  if (looksLikeSafetensors(head)) return readSafetensors(source, file);
  if (looksLikeZip(head)) return readPytorch(source, file);
  if (looksLikeLegacyTorch(head)) throw new WeightsError(file, LEGACY_TORCH);
  if (isHdf5(head)) return readKerasHdf5(whole ? whole() : source.read(0, source.size), file);
  const first = String.fromCharCode(
    head.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) ?? 0,
  );
  if (first === '{') {
    const json = parseTfjsModelJson(new TextDecoder().decode(source.read(0, source.size)), file);
    if (!options.readShard) {
      throw new WeightsError(
        file,
        'is a TF.js model.json: its weight shards are needed too (pass readShard)',
      );
    }
    return readTfjs(json, options.readShard, file);
  }
  if (looksLikeCaffemodel(head) || /\.caffemodel$/i.test(file)) return readCaffemodel(source, file);
  throw new WeightsError(
    file,
    'is not a weights file this reader knows (safetensors, PyTorch zip .pth, .caffemodel, Keras .h5, TF.js model.json)',
  );
}

/** Reads a weights file held in memory (a browser's picked file, a fetched response), any format. */
export function readWeights(
  input: { name: string; data: Uint8Array },
  options: ReadOptions = {},
): Promise<WeightFile> {
  return readWeightsFrom(memorySource(input.data), input.name, options, () => input.data);
}
