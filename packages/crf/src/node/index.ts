export { CrfThreadPool, inferenceThreaded, type CrfThreadPoolOptions } from './pool.js';
