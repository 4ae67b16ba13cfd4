/**
 * The dashboard's build: `web/` is its own Vite root; the output goes to `web/dist`, which the
 * server serves at `/` and the single binary embeds. Not committed: `npm install` builds it
 * (the root package's `prepare`).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // Absolute asset paths: the server answers client routes (`/services/web`) with index.html too.
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: the app is a handful of views, and a single file keeps the binary's
    // asset list short.
    reportCompressedSize: true,
  },
  server: {
    // `SKIFF_DEV_SERVER=http://127.0.0.1:8080 vite web` proxies the API, WebSocket included.
    proxy: process.env.SKIFF_DEV_SERVER
      ? { '/api': { target: process.env.SKIFF_DEV_SERVER, ws: true, changeOrigin: false } }
      : undefined,
  },
});
