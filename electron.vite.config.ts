import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

// One build for the Electron main process, the sandboxed preload and the React renderer.
// The headless entry runs the same main-side sources with tsx (see package.json scripts).
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(import.meta.dirname, 'src-main/electron/main.ts'),
          // The inference worker thread: loaded by node/inference/inferenceHost.ts from next to index.js.
          'inference.worker': resolve(import.meta.dirname, 'src-main/workers/inference.worker.ts'),
          'convert.worker': resolve(import.meta.dirname, 'src-main/workers/convert.worker.ts'),
          // The safety check's CLIP thread: loaded by node/safety/safetyHost.ts from next to index.js.
          'safety.worker': resolve(import.meta.dirname, 'src-main/workers/safety.worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload can only require 'electron': bundle zod and the contract into it.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(import.meta.dirname, 'src-main/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(import.meta.dirname, 'src-renderer'),
    build: {
      outDir: resolve(import.meta.dirname, 'out/renderer'),
      rollupOptions: { input: resolve(import.meta.dirname, 'src-renderer/index.html') },
    },
  },
});
