/** The build's entry point (scripts/build.mjs): runs Shepherd as `tsx src/main.ts` does. */
import { main } from '../src/main.js';

void main();
