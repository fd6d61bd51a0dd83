// Cross-origin isolation for the dev and preview servers: with these two headers on every response
// the page gets SharedArrayBuffer, so onnxruntime-web's wasm runs its operators on several threads
// (its pthreads are Web Workers loading onnxruntime's own chunk from assets/). A static host must
// send the same headers (see README.md). SEMSEG_WEB_ISOLATION=off serves without them, as a host
// that does not send them would (the e2e checks the one-thread fallback that way).
import type { Connect, Plugin } from 'vite';

export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export function isolationDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SEMSEG_WEB_ISOLATION === 'off';
}

const setHeaders: Connect.NextHandleFunction = (_request, response, next) => {
  for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION_HEADERS)) response.setHeader(name, value);
  next();
};

/** Sends COOP/COEP from `vite` and `vite preview`, first, so that every middleware's answer has them. */
export function crossOriginIsolation(): Plugin {
  return {
    name: 'semseg-cross-origin-isolation',
    configureServer(server) {
      if (!isolationDisabled()) server.middlewares.use(setHeaders);
    },
    configurePreviewServer(server) {
      if (!isolationDisabled()) server.middlewares.use(setHeaders);
    },
  };
}
