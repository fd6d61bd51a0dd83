// Registers tfjs-core's gradients and chained ops (`x.sum()`), which Node's CommonJS entry of
// @tensorflow/tfjs-core leaves out. tsup bundles these modules into the Node build; their
// registries are global, so the registration lands in the app's one engine.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
