// tfjs-core's ES entry registers no gradients (the @tensorflow/tfjs union package does, and
// @semseg/core's Node entry): training in the page needs them, or the first backward pass fails
// with "gradient function not found". The registry is global, so one import serves the worker
// and the page's thread.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
