/**
 * `npm run bench:test`: the benchmark's tests, with Portkey's gateway (the
 * peer), which the root config leaves out of npm test. The settings are the
 * root config's.
 */
import { defineConfig } from 'vitest/config';
import { projectRoot } from '../local/tooling/project.ts';

export default defineConfig({
  root: projectRoot,
  test: {
    include: ['tests/bench/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
