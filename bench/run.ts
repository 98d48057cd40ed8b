/**
 * The benchmark runner: `npm run bench` runs every section, `npm run bench -- irc` only the named ones.
 * Adding a section: write bench/<name>.ts exporting a BenchSection, import it here and add it to `sections`.
 * Sections record their headline figures with figure() (bench/support/section.ts); the run ends with a summary
 * table of all of them, each next to its baseline, with the ratio and the goal.
 */
import { fanout } from './fanout.js';
import { ha } from './ha.js';
import { irc } from './irc.js';
import { logs } from './logs.js';
import { remoteLag } from './remote-lag.js';
import { sse } from './sse.js';
import { validate } from './validate.js';
import { stopBenchPostgres } from './support/database.js';
import { type BenchSection, printSummary, runningSection } from './support/section.js';

const sections: BenchSection[] = [irc, sse, fanout, logs, validate, ha, remoteLag];

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !sections.some((s) => s.name === w));
  if (unknown.length > 0) {
    console.error(`unknown section${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} — known: ${sections.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const chosen = wanted.length > 0 ? sections.filter((s) => wanted.includes(s.name)) : sections;
  let failed = 0;
  for (const section of chosen) {
    console.log(`\n== ${section.name}: ${section.summary} ==`);
    const started = performance.now();
    runningSection(section.name);
    try {
      await section.run();
      console.log(`  (${section.name} took ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    } catch (err) {
      failed++;
      console.error(`  ${section.name} could not be measured: ${(err as Error).stack ?? err}`);
    }
  }
  runningSection(undefined);
  await stopBenchPostgres();
  printSummary();
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
