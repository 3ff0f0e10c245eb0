// Vite build of the site dashboard (ui/site → ui/dist/site). The hub serves the output
// directory at `/`, so asset URLs are relative (base './') and nothing assumes a path prefix.
// scripts/build-ui.mjs drives this config through vite's JS API on install and on build.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const uiDirectory = import.meta.dirname;

export default defineConfig({
  root: `${uiDirectory}/site`,
  base: './',
  publicDir: false,
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
  build: {
    outDir: `${uiDirectory}/dist/site`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
