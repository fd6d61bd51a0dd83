// Serves tfjs-backend-wasm's binaries from this app (no CDN): copied into the build at
// `tfjs-wasm/`, and answered from node_modules by the dev server.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';

const DIRECTORY = 'tfjs-wasm';

export function wasmBinaryFolder(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

export function wasmBinaryNames(): string[] {
  return readdirSync(wasmBinaryFolder()).filter((name) => name.endsWith('.wasm'));
}

export function tfjsWasmBinaries(): Plugin {
  return {
    name: 'semseg-tfjs-wasm-binaries',
    generateBundle() {
      for (const name of wasmBinaryNames()) {
        this.emitFile({
          type: 'asset',
          fileName: `${DIRECTORY}/${name}`,
          source: readFileSync(join(wasmBinaryFolder(), name)),
        });
      }
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const match = new RegExp(`/${DIRECTORY}/([\\w.-]+\\.wasm)$`).exec(request.url?.split('?')[0] ?? '');
        if (!match || !wasmBinaryNames().includes(match[1]!)) return next();
        response.setHeader('Content-Type', 'application/wasm');
        response.end(readFileSync(join(wasmBinaryFolder(), match[1]!)));
      });
    },
  };
}
