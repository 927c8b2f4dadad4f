/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// The API the dev server proxies to (hot reload against a running `helio up`).
const api = process.env.HELIO_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig(({ mode }) => ({
  plugins: [
    react(),
    VitePWA({
      registerType: 'autoUpdate',
      manifest: {
        name: 'Helio',
        short_name: 'Helio',
        description: 'Analytics and ML on Ray',
        theme_color: '#1d4ed8',
        background_color: '#ffffff',
        display: 'standalone',
        icons: [{ src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml' }],
      },
      workbox: {
        // The app shell is precached; API calls always go to the network (the RTK Query
        // cache in IndexedDB is what stays readable offline).
        globPatterns: ['**/*.{js,css,html,svg}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//],
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
  server: {
    proxy: { '/api': { target: api, changeOrigin: true, ws: true } },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    // `--mode bench` builds only the benchmark harness (benchmarks/frontend.py).
    ...(mode === 'bench' ? { outDir: 'dist-bench', rollupOptions: { input: 'bench.html' } } : {}),
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test-setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
  },
}));
