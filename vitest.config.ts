import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Needs Portkey's gateway: npm run bench:test runs it (bench/vitest.config.ts).
    exclude: ['**/node_modules/**', 'tests/bench/peer.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
