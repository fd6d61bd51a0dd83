// Registers tfjs-core's gradients and chained ops (`x.sum()`), which Node's CommonJS entry of
// @tensorflow/tfjs-core leaves out. tsup bundles the two registration modules into the Node
// build; their registries are global, so the registration lands in the app's one engine.
// The package entry comes first so that its Tensor class is the one registered globally (the
// bundled modules then patch that class rather than installing their own copy).
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
