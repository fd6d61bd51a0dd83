import { defineConfig } from 'vite';
import { crossOriginIsolation } from './scripts/cross-origin-isolation.js';
import { tfjsWasmBinaries } from './scripts/tfjs-wasm-plugin.js';

export default defineConfig({
  // Relative asset paths: the built page works from any folder or sub-path.
  base: './',
  // COOP/COEP first: the tfjs-wasm middleware's answers carry them too.
  plugins: [crossOriginIsolation(), tfjsWasmBinaries()],
  worker: { format: 'es' },
  // The dev server serves onnxruntime-web as it ships: pre-bundled into node_modules/.vite/deps its
  // `new URL('ort-wasm-….wasm', import.meta.url)` (and its threads' worker script) point where no
  // .wasm is, and the page fails with "expected magic word 00 61 73 6d".
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // tfjs' WebGPU and WebGL backends are a few hundred kB each; they load only when chosen.
    chunkSizeWarningLimit: 1500,
  },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
