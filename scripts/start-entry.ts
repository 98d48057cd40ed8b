/**
 * The build's entry point (scripts/build.mjs): scripts/start.mjs imports it (loading only) and calls main() once
 * it knows the build is fresh; main() runs Shepherd as `tsx src/main.ts` does.
 */
export { main } from '../src/main.js';
