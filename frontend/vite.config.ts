/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/** Writes .br and .gz next to every text asset of the build; the ingress serves them to
 * clients that accept them (CDN-ready: no compression work per request). */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'helio-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
      });
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|webmanifest|json)$/.test(file) || statSync(file).size < 1024) continue;
        const data = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(data, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

// The API the dev server proxies to (hot reload against a running `helio up`).
const api = process.env.HELIO_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig(({ mode }) => ({
  plugins: [
    react(),
    precompress(),
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
