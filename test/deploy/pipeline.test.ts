import { StringDecoder } from 'node:string_decoder';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageRef, Target } from '../../src/chat/types.js';
import { ChatBatcher } from '../../src/deploy/chat-batcher.js';
import { DeployEvents, type LogLineEvent, eventLines, lastLines, linesEvent } from '../../src/deploy/events.js';
import { LineSplitter, type SplitLines, TRUNCATED } from '../../src/deploy/line-splitter.js';
import { DeployLog, LogWriter } from '../../src/deploy/log-pipeline.js';
import { Masker, MASK } from '../../src/deploy/mask.js';
import { batchChunks, CHUNK_MAX_LINES } from '../../src/store/log-lines.js';
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
  it('GIVEN ASCII chunks next to chunks that cut a UTF-8 character or hold a broken one THEN the lines are what one decoder makes of all the bytes', () => {
    const check = Buffer.from('✓'); // 3 bytes
    const chunks = [
      Buffer.from('plain\nascii '),
      // Ends inside ✓; the next chunk, pure ASCII, must still go through the decoder (the character is broken).
      Buffer.concat([Buffer.from('cut '), check.subarray(0, 2)]),
      Buffer.from('ascii after\n'),
      // Ends inside ✓, completed by the next chunk.
      Buffer.concat([Buffer.from('whole '), check.subarray(0, 1)]),
      Buffer.concat([check.subarray(1), Buffer.from(' done\n')]),
      Buffer.from([0x62, 0xff, 0x0a]), // an invalid byte
      Buffer.from('last'),
    ];
    const reference = new StringDecoder('utf8');
    const text = chunks.map((c) => reference.write(c)).join('') + reference.end();
    expect(split(chunks)).toEqual(text.split('\n'));
    expect(text).toContain('cut \ufffdascii after');
    expect(text).toContain('whole ✓ done');
  });
  it('GIVEN CRLF line ends THEN the CR is dropped', () => {
    expect(split(['a\r\nb\r', '\n'])).toEqual(['a', 'b']);
  });
  it('GIVEN a line longer than the cap THEN it is cut, marked, and the rest of it dropped', () => {
    expect(split(['x'.repeat(10), 'y'.repeat(10), '\nnext\n'], 15)).toEqual([`${'x'.repeat(10)}${'y'.repeat(5)}${TRUNCATED}`, 'next']);
    expect(split([`${'z'.repeat(20)}\nok\n`], 15)).toEqual([`${'z'.repeat(15)}${TRUNCATED}`, 'ok']);
  });
});

describe('LineSplitter.take: the lines of a chunk with the text they came from', () => {
  const takeAll = (chunks: string[], max?: number) => {
    const s = new LineSplitter(undefined, max);
    const out = chunks.map((c) => s.take(c));
    out.push(s.takeEnd());
    return out;
  };

  it('GIVEN plain lines cut anywhere THEN each batch gives its lines, and its source is exactly them joined', () => {
    const out = takeAll(['ab', 'c\nde', 'f\ng\nh', 'ij']);
    expect(out.map((b) => b.lines)).toEqual([[], ['abc'], ['def', 'g'], [], ['hij']]);
    for (const b of out) {
      expect(b.verbatim).toBe(true);
      expect(b.source).toBe(b.lines.join('\n'));
    }
  });
  it('GIVEN a CR, a capped line or the dropped rest of one THEN the batch says it is not verbatim, and every line is still in its source', () => {
    const out = takeAll(['a\r\nb\n', 'x'.repeat(20), 'y\nok\n'], 15);
    expect(out.map((b) => b.lines)).toEqual([['a', 'b'], [`${'x'.repeat(15)}${TRUNCATED}`], ['ok'], []]);
    expect(out.map((b) => b.verbatim)).toEqual([false, false, false, true]);
    expect(out[2]?.source).toBe('ok');
    for (const b of out) for (const line of b.lines) expect(b.source).toContain(line.replace(TRUNCATED, ''));
  });
});

describe('LineSplitter.take on bytes: the ASCII path cuts the same lines as the general one', () => {
  // Lines of every kind the general path handles: plain, empty, CRLF, a CR inside (a progress bar), over the cap
  // (20), UTF-8.
  const text = ['plain one', '', 'crlf\r', '10%\r50%\rdone', 'x'.repeat(30), 'héllo ✓', 'after', 'a bit longer tail'].join('\n');
  const all = Buffer.from(text);

  it('GIVEN the same output cut at every place THEN bytes and decoded text give the same batches (lines, source, verbatim)', () => {
    for (let a = 0; a <= all.length; a++)
      for (const b of [a, Math.min(all.length, a + 7), Math.min(all.length, a + 23), all.length]) {
        const bytes = new LineSplitter(undefined, 20);
        const texts = new LineSplitter(undefined, 20);
        const decoder = new StringDecoder('utf8');
        // Compared as plain values (the bytes path cuts its lines only when asked); count must be lines.length.
        const view = (s: SplitLines) => ({ count: s.count, lines: [...s.lines], source: s.source, verbatim: s.verbatim, cut: s.lines.length });
        for (const chunk of [all.subarray(0, a), all.subarray(a, b), all.subarray(b)]) {
          const got = view(bytes.take(chunk));
          expect(got).toEqual(view(texts.take(decoder.write(chunk))));
          expect(got.count).toBe(got.cut);
        }
        expect(view(bytes.takeEnd())).toEqual(view(texts.takeEnd()));
      }
  });
});

describe('Masker.clean: one test for all the lines of a chunk', () => {
  const m = new Masker(['s3cr3t-value']);
  it('GIVEN build output without anything a rule needs THEN it is clean', () => {
    expect(m.clean('1 npm info lifecycle build~prepare: compiling src/module.ts (ok)\n2 done in 3.1s', 'k')).toBe(true);
  });
  it('GIVEN a configured value, a word a rule needs, a token shape or an escape code anywhere THEN it is not', () => {
    for (const text of ['ok\nuse s3cr3t-value\nok', 'ok\nDB_PASSWORD=x', 'ok\nghp_0123456789abcdefghij0123', 'ok\n\u001b[31mred'])
      expect(m.clean(text, 'k')).toBe(false);
  });
  it('GIVEN the stream inside a private key block THEN nothing of it is clean until the block ends', () => {
    const k = new Masker();
    expect(k.line('-----BEGIN OPENSSH PRIVATE KEY-----', 'pem')).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');
    expect(k.clean('b3BlbnNzaC1rZXktdjEAAAAA', 'pem')).toBe(false);
    expect(k.clean('b3BlbnNzaC1rZXktdjEAAAAA', 'other')).toBe(true);
  });
});

describe('batchChunks', () => {
  const at = new Date('2026-12-01T10:00:00.000Z');
  const line = (seq: number, text = `l${seq}`) => ({ deployId: 1, seq, host: 'h', stream: 'stdout', text, at });
  const chunk = (firstSeq: number, lastSeq: number) => ({
    deployId: 1,
    firstSeq,
    lastSeq,
    host: 'h',
    stream: 'stdout',
    text: Array.from({ length: lastSeq - firstSeq + 1 }, (_, i) => `l${firstSeq + i}`).join('\n'),
    at,
  });
  it('GIVEN lines and chunks that continue each other THEN one chunk holds them all, in order', () => {
    expect(batchChunks([line(1), line(2), chunk(3, 5), line(6)])).toEqual([chunk(1, 6)]);
  });
  it('GIVEN a gap, another host or another time THEN they stay apart', () => {
    const other = { ...chunk(3, 4), host: 'g' };
    const later = { ...chunk(5, 5), at: new Date(at.getTime() + 1) };
    expect(batchChunks([line(1), chunk(3, 4)]).map((c) => [c.firstSeq, c.lastSeq])).toEqual([
      [1, 1],
      [3, 4],
    ]);
    expect(batchChunks([chunk(1, 2), other, later]).map((c) => [c.firstSeq, c.host])).toEqual([
      [1, 'h'],
      [3, 'g'],
      [5, 'h'],
    ]);
  });
  it('GIVEN more lines than a chunk holds THEN they are cut at CHUNK_MAX_LINES', () => {
    const out = batchChunks([chunk(1, 600), chunk(601, 1200)]);
    expect(out.map((c) => [c.firstSeq, c.lastSeq])).toEqual([
      [1, 600],
      [601, 1200],
    ]);
    expect(out.every((c) => c.lastSeq - c.firstSeq < CHUNK_MAX_LINES)).toBe(true);
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
    events.subscribe((e) => published.push(...eventLines(e)));
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

  it('GIVEN output cut anywhere (inside a secret, a CRLF, a private key, a UTF-8 character) THEN what is stored and published is the text masked line by line', async () => {
    t = await tempStore();
    const sink = await t.lines();
    const secret = 's3cr3t-value';
    const plain = Array.from({ length: 40 }, (_, i) => `${i} compiling src/module-${i}.ts (ok) ✓`);
    const text = [
      ...plain.slice(0, 10),
      `curl -u bot:${secret} https://example.test`,
      'windows line\r',
      ...plain.slice(10, 20),
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEAmaskedmaskedmasked',
      '-----END RSA PRIVATE KEY-----',
      ...plain.slice(20),
      'no newline at the end',
    ].join('\n');
    const bytes = Buffer.from(text);
    const reference = new Masker([secret]);
    const expected = text.split('\n').map((l) => reference.line(l.endsWith('\r') ? l.slice(0, -1) : l, 'ref'));
    expect(expected.join('\n')).not.toContain(secret);
    for (const size of [1, 3, 7, 64, bytes.length]) {
      const id = await startedDeploy(t);
      const events = new DeployEvents();
      const published: string[] = [];
      events.subscribe((e) => published.push(...eventLines(e).map((l) => l.text)));
      const writer = new LogWriter(sink, undefined, { intervalMs: 10, batchLines: 50 });
      const out = new DeployLog(id, { events, masker: new Masker([secret]), writer }).host('web-1');
      for (let o = 0; o < bytes.length; o += size) out.onOutput('stdout', bytes.subarray(o, o + size));
      out.end();
      await writer.drain();
      const stored = await t.store.deploys.lines(id, { limit: 1000 });
      expect(stored.map((l) => l.seq)).toEqual(expected.map((_, i) => i + 1));
      expect(stored.map((l) => l.text)).toEqual(expected);
      expect(published).toEqual(expected);
    }
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

describe("a 'lines' event: texts cut only when asked, lastLines without cutting the rest", () => {
  const at = new Date('2026-12-01T10:00:00.000Z');
  const event = (text: string) => linesEvent({ deployId: 1, firstSeq: 1, count: text.split('\n').length, host: 'h', stream: 'stdout', text, at });
  it('GIVEN lines with empty ones among them THEN the last n are the same as cutting all and taking the tail', () => {
    for (const text of ['a', 'a\nb', 'a\n\nb', '\n\n', 'one\ntwo\nthree\n\nfive', ''])
      for (const n of [0, 1, 2, 3, 10]) {
        const all = text.split('\n');
        expect(lastLines(event(text), n)).toEqual(n === 0 ? [] : all.slice(-n));
      }
  });
  it('GIVEN texts asked twice THEN the same array (cut once)', () => {
    const e = event('x\ny');
    expect(e.texts).toEqual(['x', 'y']);
    expect(e.texts).toBe(e.texts);
  });
});
