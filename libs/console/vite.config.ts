// Builds the console into dist/ as static files the gateway serves at /console/ (see libs/gateway-service's
// console-routes.ts). Everything is bundled: the page loads nothing from elsewhere.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  // The client's TypeScript source (as its "development" export condition does for tsc): no need to build it first.
  resolve: { alias: { '@sluice/http-client': fileURLToPath(new URL('../http-client/src/index.ts', import.meta.url)) } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // uPlot and Preact together are ~70 kB; no need for a warning at Vite's default.
    chunkSizeWarningLimit: 300,
  },
  // The gateway's HTTP API during `vite` (dev server): run a gateway on 8080 (`npm start`).
  server: { proxy: { '^/(topics|cluster|consumer-groups|brokers|openapi.json)': 'http://127.0.0.1:8080' } },
});
