// Keras HDF5 is read by @semseg/weights (with h5wasm); this keeps VGG16's public setHdf5Module.
export { setHdf5Module } from '@semseg/weights';
