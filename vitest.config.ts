import { defineConfig } from 'vitest/config';

// Unit tests live beside the code they prove (x.ts has x.test.ts). Integration tests start
// and stop their own peers, so they get generous timeouts; nothing here retries a failure.
export default defineConfig({
  test: {
    include: ['{common,edge,rules,hub,central,hil,bin,scripts,ui}/**/*.test.ts'],
    exclude: ['node_modules/**', 'ui/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
