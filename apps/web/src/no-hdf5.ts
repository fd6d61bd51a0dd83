// Stands in for h5wasm in the page's bundle (vite.config.ts aliases it): @semseg/vgg16 imports it
// lazily to read Keras HDF5 backbone weights, which the page never does, and it is 4.8 MB.
export const ready = Promise.reject(new Error('the web demo does not read Keras HDF5 weight files'));
