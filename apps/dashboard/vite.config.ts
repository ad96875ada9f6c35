import { defineConfig } from 'vite';

/** Static build of the dashboard into apps/dashboard/dist (served by the API at `/`). */
export default defineConfig({
  root: __dirname,
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
