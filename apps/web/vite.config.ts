// The console is built to static files that the Mamori server serves at `/` (same origin as the API).
// No inline scripts (the server's Content-Security-Policy has `script-src 'self'`), so the module
// preload polyfill, which Vite would otherwise inline, is off: every browser Mamori supports has it.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev -w @mamori/web` against a server started with PORT=3100.
    proxy: { '/api': 'http://127.0.0.1:3100' },
  },
});
