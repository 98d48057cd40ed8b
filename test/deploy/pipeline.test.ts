import { afterEach, describe, expect, it } from 'vitest';
import type { MessageRef, Target } from '../../src/chat/types.js';
import { ChatBatcher } from '../../src/deploy/chat-batcher.js';
import { DeployEvents, type LogLineEvent } from '../../src/deploy/events.js';
import { LineSplitter, TRUNCATED } from '../../src/deploy/line-splitter.js';
import { DeployLog, LogWriter } from '../../src/deploy/log-pipeline.js';
import { Masker, MASK } from '../../src/deploy/mask.js';
import { startedDeploy, tempStore, type TempStore } from '../support/db.js';

describe('LineSplitter', () => {
  const split = (chunks: (string | Buffer)[], max?: number) => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), max);
    for (const c of chunks) s.push(c);
    s.end();
    return lines;
  };

  it('GIVEN lines cut across chunks THEN whole lines come out, the last one flushed at the end', () => {
    expect(split(['hel', 'lo\nwor', 'ld\n\nlast'])).toEqual(['hello', 'world', '', 'last']);
  });
  it('GIVEN a UTF-8 character split between chunks THEN it is decoded whole', () => {
    const bytes = Buffer.from('héllo ✓\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)])).toEqual(['héllo ✓']);
  });
  it('GIVEN CRLF line ends THEN the CR is dropped', () => {
    expect(split(['a\r\nb\r', '\n'])).toEqual(['a', 'b']);
  });
  it('GIVEN a line longer than the cap THEN it is cut, marked, and the rest of it dropped', () => {
    expect(split(['x'.repeat(10), 'y'.repeat(10), '\nnext\n'], 15)).toEqual([`${'x'.repeat(10)}${'y'.repeat(5)}${TRUNCATED}`, 'next']);
    expect(split([`${'z'.repeat(20)}\nok\n`], 15)).toEqual([`${'z'.repeat(15)}${TRUNCATED}`, 'ok']);
  });
});

describe('ChatBatcher', () => {
  it('GIVEN a burst of messages to one room THEN they go out merged, not one by one', async () => {
    const sent: { target: Target; text: string }[] = [];
    const batcher = new ChatBatcher(async (_p, target, text): Promise<MessageRef> => {
      sent.push({ target, text });
      return { ...target, id: String(sent.length) };
    }, 100);
    const posts = Array.from({ length: 100 }, (_, i) => batcher.post('irc', { room: '#a' }, `line ${i}`));
    const other = batcher.post('irc', { room: '#b' }, 'elsewhere');
    await Promise.all([...posts, other]);
    const inA = sent.filter((s) => s.target.room === '#a');
    expect(inA.length).toBeLessThanOrEqual(2);
    expect(
      inA
        .map((s) => s.text)
        .join('\n')
        .split('\n'),
    ).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i}`));
    expect(sent.filter((s) => s.target.room === '#b')).toHaveLength(1);
    expect(batcher.sentCount).toBe(sent.length);
  });

  it('GIVEN progress posted under one key THEN only the latest unsent text is shown, and threads are not merged with the room', async () => {
    const sent: { target: Target; text: string }[] = [];
    const batcher = new ChatBatcher(async (_p, target, text) => {
      sent.push({ target, text });
      return { ...target, id: String(sent.length) };
    }, 100);
    const start = await batcher.post('slack', { room: 'C1' }, 'start');
    const thread = { room: 'C1', thread: start?.id };
    const done = [1, 2, 3, 4].map((n) => batcher.post('slack', thread, `${n}/4 hosts done`, 'progress:1'));
    const end = batcher.post('slack', { room: 'C1' }, 'finished');
    await Promise.all([...done, end]);
    expect(sent.map((s) => [s.target.thread ?? null, s.text])).toEqual([
      [null, 'start'],
      ['1', '4/4 hosts done'],
      [null, 'finished'],
    ]);
  });
});

describe('DeployLog → LogWriter → LogLineStore', () => {
  let t: TempStore | undefined;
  afterEach(async () => {
    await t?.close();
  });

  it('GIVEN output from two hosts with a secret in it THEN lines are masked, numbered without gaps, published and stored with their host', async () => {
    t = await tempStore();
    const id = await startedDeploy(t);
    const events = new DeployEvents();
    const published: LogLineEvent[] = [];
    events.subscribe((e) => e.type === 'line' && published.push(e.line));
    const sink = await t.lines();
    const writer = new LogWriter(sink, undefined, { intervalMs: 10, batchLines: 3 });
    const log = new DeployLog(id, { events, masker: new Masker(['s3cr3t-value']), writer });
    const a = log.host('web-1');
    const b = log.host('web-2');
    a.onOutput('stdout', Buffer.from('one\ntoken=s3cr3t-value\npart'));
    b.onOutput('stderr', Buffer.from('warn: x\n'));
    a.onOutput('stdout', Buffer.from('ial\n'));
    log.system('web-1', '$ npm ci');
    a.end();
    b.end();
    await writer.drain();
    const stored = await t.store.deploys.lines(id);
    expect(stored.map((l) => [l.seq, l.host, l.stream, l.text])).toEqual([
      [1, 'web-1', 'stdout', 'one'],
      [2, 'web-1', 'stdout', `token=${MASK}`],
      [3, 'web-2', 'stderr', 'warn: x'],
      [4, 'web-1', 'stdout', 'partial'],
      [5, 'web-1', 'system', '$ npm ci'],
    ]);
    expect(published.map((l) => l.text)).toEqual(stored.map((l) => l.text));
    await sink.close();
  });

  it('GIVEN more lines waiting than the high-water mark THEN room() asks the source to wait until they are written', async () => {
    t = await tempStore();
    const id = await startedDeploy(t);
    const sink = await t.lines();
    const writer = new LogWriter(sink, undefined, { intervalMs: 1000, batchLines: 100_000, highWater: 50 });
    for (let i = 1; i <= 60; i++) writer.add({ deployId: id, seq: i, host: 'h', stream: 'stdout', text: `l${i}`, at: new Date() });
    const wait = writer.room();
    expect(wait).toBeInstanceOf(Promise);
    writer.flush();
    await wait;
    expect(writer.room()).toBeUndefined();
    expect(await t.store.deploys.lineCount(id)).toBe(60);
    await sink.close();
  });
});
