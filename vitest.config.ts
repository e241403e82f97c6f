import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'gateway/src/**/*.test.ts',
      'gateway/test/**/*.test.ts',
      'device-sdk/src/**/*.test.ts',
      'device-sdk/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
