import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration tests start real servers (ngircd, sshd, Chromium); two cores, so keep it to two files at once.
    maxWorkers: 2,
  },
});
