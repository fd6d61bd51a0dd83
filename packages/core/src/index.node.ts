// The Node entry: the same API, plus tfjs-core's gradients and chained ops registered.
import './register-tfjs.js';

export * from './index.js';
