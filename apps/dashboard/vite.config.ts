import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * Static build of the dashboard into apps/dashboard/dist (served by the API at `/`). `@fundus/metrics`
 * resolves to the library's browser-safe entry, so the dashboard computes with the same code as the
 * reports.
 */
export default defineConfig({
  root: __dirname,
  base: '/',
  esbuild: { jsx: 'automatic' },
  resolve: {
    alias: { '@fundus/metrics': resolve(__dirname, '../../libs/metrics/src/browser.ts') },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2048 },
});
