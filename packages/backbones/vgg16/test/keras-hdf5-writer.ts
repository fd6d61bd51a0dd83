// Writes a Keras HDF5 weights file with h5wasm, in the layout Keras' save_weights uses: root
// attribute layer_names; one group per layer with attribute weight_names; datasets named by those.
import h5wasm from 'h5wasm';

export interface LayerArrays {
  name: string;
  /** Empty for layers without weights (pooling, flatten). */
  weights: Array<{ data: Float32Array; shape: number[] }>;
}

/**
 * `naming`: 'published' writes the names of the released vgg16_weights_tf_dim_ordering files
 * (`block1_conv1_W_1:0`, `block1_conv1_b_1:0`, flat datasets); 'keras2' writes newer saves'
 * `block1_conv1/kernel:0` (a nested group). `wholeModel` nests everything under `model_weights`.
 */
export async function writeKerasHdf5(
  layers: LayerArrays[],
  naming: 'published' | 'keras2',
  wholeModel = false,
): Promise<Uint8Array> {
  const { FS } = await h5wasm.ready;
  const path = `/test-${Math.random().toString(36).slice(2)}.h5`;
  const file = new h5wasm.File(path, 'w');
  const root = wholeModel ? file.create_group('model_weights') : file;
  root.create_attribute(
    'layer_names',
    layers.map((l) => l.name),
  );
  root.create_attribute('backend', 'tensorflow');
  root.create_attribute('keras_version', '2.2.4');
  for (const layer of layers) {
    const group = root.create_group(layer.name);
    const names = layer.weights.map((_, i) =>
      naming === 'published'
        ? `${layer.name}_${i === 0 ? 'W' : 'b'}_1:0`
        : `${layer.name}/${i === 0 ? 'kernel' : 'bias'}:0`,
    );
    // Weightless layers (pooling, flatten) stand in layer_names as in Keras' files; h5wasm cannot
    // write an empty string list, so they get [''] (the importer never reads them).
    group.create_attribute('weight_names', names.length > 0 ? names : [''], names.length > 0 ? null : [1]);
    layer.weights.forEach((w, i) => {
      const name = names[i]!;
      const target = naming === 'keras2' ? (group.get(layer.name) ?? group.create_group(layer.name)) : group;
      const leaf = naming === 'keras2' ? name.split('/')[1]! : name;
      (target as typeof group).create_dataset({ name: leaf, data: w.data, shape: w.shape, dtype: '<f' });
    });
  }
  file.close();
  const bytes = FS.readFile(path) as Uint8Array;
  FS.unlink(path);
  return bytes;
}
