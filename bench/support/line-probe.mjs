/**
 * Preloaded into each Shepherd instance of the `ha` benchmark (`node --import ./bench/support/line-probe.mjs …`,
 * plain JavaScript so it runs beside the compiled build): records, with the wall clock, every message of the
 * `shepherd:live-line` diagnostics channel (src/web/line-trace.ts) and the event loop's delay each 250 ms, as JSON
 * lines in the file named by SHEPHERD_LINE_PROBE. Written every 250 ms (an instance may be SIGKILLed: what was
 * written stays).
 *
 *   SHEPHERD_LINE_PROBE=/tmp/a.jsonl node --import ./bench/support/line-probe.mjs scripts/start.mjs
 */
import { subscribe } from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.SHEPHERD_LINE_PROBE;
if (file) {
  let buffered = [];
  // The wall clock, as the host's `date` and the benchmark stamp lines: all three compare to each other.
  const now = () => Date.now();
  subscribe('shepherd:live-line', (m) => {
    buffered.push(JSON.stringify({ t: now(), ...m }));
  });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const timer = setInterval(() => {
    // Delays in ms: how late a timer due now would run (the wait every callback of this instance saw).
    buffered.push(JSON.stringify({ t: now(), leg: 'loop', p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }));
    loop.reset();
    if (buffered.length === 0) return;
    const text = `${buffered.join('\n')}\n`;
    buffered = [];
    appendFileSync(file, text);
  }, 250);
  timer.unref();
}

// SHEPHERD_CPU_PROFILE=/tmp/prof/A: CPU profiles of 10 s each (A-1.cpuprofile, A-2…), so a SIGKILL loses one slice.
const profile = process.env.SHEPHERD_CPU_PROFILE;
if (profile) {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method) => new Promise((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  let n = 0;
  const slice = setInterval(async () => {
    const { profile: p } = await post('Profiler.stop');
    writeFileSync(`${profile}-${++n}.cpuprofile`, JSON.stringify(p));
    await post('Profiler.start');
  }, 10_000);
  slice.unref();
}
