/**
 * Output arrives in chunks that cut lines (and UTF-8 characters) anywhere. A LineSplitter keeps the partial
 * line until its end arrives, caps very long lines (a minified bundle printed on one line must not become a
 * 50 MB row), and hands out whole lines. One splitter per host and stream.
 *
 *   const s = new LineSplitter((line) => store(line));
 *   s.push(Buffer.from('hel')); s.push(Buffer.from('lo\nwor')); s.end(); // 'hello', 'wor'
 *
 * take() gives the lines one chunk completes as a batch instead (what the deploy log uses): with them the text
 * they were cut from, so a caller can test the whole chunk once (masking) and, when no line was changed, store
 * that text as it is instead of joining the lines again (an ASCII chunk's lines are then never cut at all unless
 * someone asks for them).
 */
import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE_CHARS = 8192;

/**
 * Where takeAscii() puts a held line and a chunk's lines side by side before making one string of them: one for
 * every splitter (used and done with within one call), grown to the largest chunk seen.
 */
let scratch = Buffer.alloc(0);
export const TRUNCATED = ' … [line truncated]';

/** The lines one chunk completed. */
export interface SplitLines {
  /** How many lines (lines.length, without cutting them when they are not cut yet). */
  count: number;
  lines: string[];
  /** The text the lines were cut from (the held partial line included): every character of every line is in it. */
  source: string;
  /** Whether `source` is exactly the lines joined by '\n' (no CR dropped, no line capped or skipped). */
  verbatim: boolean;
  /** `source` is known to be ASCII. */
  ascii?: boolean;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** Inside an over-long line: drop everything until its newline. */
  private skipping = false;

  constructor(
    private readonly emit: (line: string) => void = () => {},
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: Buffer | string): void {
    for (const line of this.take(chunk).lines) this.emit(line);
  }

  /** The whole lines this chunk completes (the rest is held for the next chunk or end()). */
  take(chunk: Buffer | string): SplitLines {
    if (typeof chunk === 'string') return this.feed(chunk);
    // Most output is ASCII: when the decoder holds no cut character from the previous chunk, the bytes are the
    // characters (one SIMD check, one copy) without UTF-8 decoding. lastNeed is the decoder's count of bytes
    // still owed (not in Node's types); should it ever be missing, every chunk goes through the decoder.
    if ((this.decoder as unknown as { lastNeed?: number }).lastNeed === 0 && isAscii(chunk)) return this.takeAscii(chunk);
    return this.feed(this.decoder.write(chunk));
  }

  /**
   * An ASCII chunk whose lines are all plain (no CR, none over the cap): the held partial line and the chunk up to
   * its last newline become one flat string, made once from the bytes, and its lines are counted (cut only when
   * asked: AsciiLines). Joining the
   * held line to the chunk's text as strings made a rope that V8 flattened (copied whole again) where it needed
   * the text in one piece: the log writer's hand-over to its thread, the event loop's largest cost for a 500k-line
   * deploy. Any other chunk takes the general path.
   */
  private takeAscii(chunk: Buffer): SplitLines {
    const end = chunk.lastIndexOf(0x0a);
    const held = this.partial;
    if (end < 0 || this.skipping || chunk.length - end - 1 > this.maxChars || !isAsciiString(held)) return this.feed(chunk.toString('latin1'));
    let source: string;
    if (held.length === 0) source = chunk.toString('latin1', 0, end);
    else {
      const size = held.length + end;
      if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, 2 * scratch.length));
      scratch.write(held, 0, 'latin1');
      chunk.copy(scratch, held.length, 0, end);
      source = scratch.toString('latin1', 0, size);
    }
    // Counted, and checked for lines over the cap, without cutting them: most are never needed one by one (see
    // AsciiLines). A line ending in CR (CRLF output) takes the general path, which drops it; a CR inside a line
    // (a progress bar redrawn) stays, as before.
    if (source.includes('\r\n') || source.charCodeAt(source.length - 1) === 13) return this.feed(chunk.toString('latin1'));
    let count = 1;
    let from = 0;
    for (let nl = source.indexOf('\n'); nl >= 0; nl = source.indexOf('\n', from)) {
      if (nl - from > this.maxChars) return this.feed(chunk.toString('latin1'));
      from = nl + 1;
      count++;
    }
    if (source.length - from > this.maxChars) return this.feed(chunk.toString('latin1'));
    this.partial = chunk.toString('latin1', end + 1);
    return new AsciiLines(source, count);
  }

  /** Flushes the last line even without a trailing newline. */
  end(): void {
    for (const line of this.takeEnd().lines) this.emit(line);
  }

  /** end() as a batch: the lines still held (the last one even without a trailing newline). */
  takeEnd(): SplitLines {
    const out = this.feed(this.decoder.end());
    if (this.partial.length > 0 && !this.skipping) {
      const line = stripCr(this.partial);
      out.lines.push(line);
      out.count++;
      out.source = out.lines.length === 1 ? this.partial : `${out.source}\n${this.partial}`;
      out.verbatim &&= line.length === this.partial.length;
    }
    this.partial = '';
    this.skipping = false;
    return out;
  }

  private feed(text: string): SplitLines {
    let nl = text.indexOf('\n');
    if (nl < 0) {
      const cut = this.append(text);
      return cut === null ? { count: 0, lines: [], source: '', verbatim: true } : { count: 1, lines: [cut], source: cut, verbatim: false };
    }
    const lines: string[] = [];
    let verbatim = true;
    const held = this.partial;
    let start = 0;
    if (this.skipping) {
      // The rest of an over-long line, dropped: the source starts after it.
      this.skipping = false;
      verbatim = false;
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    const from = start;
    while (nl >= 0) {
      const piece = text.slice(start, nl);
      let line = this.partial.length > 0 ? this.partial + piece : piece;
      this.partial = '';
      if (line.length > this.maxChars) {
        line = line.slice(0, this.maxChars) + TRUNCATED;
        verbatim = false;
      } else if (line.endsWith('\r')) {
        line = line.slice(0, -1);
        verbatim = false;
      }
      lines.push(line);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    // No line when the chunk only ended a dropped one.
    let source = lines.length === 0 ? '' : from === 0 ? held + text.slice(0, start - 1) : text.slice(from, start - 1);
    if (start < text.length) {
      const cut = this.append(text.slice(start));
      if (cut !== null) {
        lines.push(cut);
        source = lines.length === 1 ? cut : `${source}\n${cut}`;
        verbatim = false;
      }
    }
    return { count: lines.length, lines, source, verbatim };
  }

  /** Holds a partial line; returns it capped (and starts skipping the rest) once it is over the cap. */
  private append(piece: string): string | null {
    if (this.skipping) return null;
    this.partial += piece;
    if (this.partial.length <= this.maxChars) return null;
    const cut = this.partial.slice(0, this.maxChars) + TRUNCATED;
    this.partial = '';
    this.skipping = true;
    return cut;
  }
}

/** The lines of an ASCII chunk: `source` is them joined by '\n' (verbatim), cut into lines only if asked. */
class AsciiLines implements SplitLines {
  readonly verbatim = true;
  readonly ascii = true;
  private cut: string[] | undefined;

  constructor(
    readonly source: string,
    readonly count: number,
  ) {}

  get lines(): string[] {
    this.cut ??= this.source.split('\n');
    return this.cut;
  }
}

/** Whether every character is ASCII (a held partial line is short: one pass). */
function isAsciiString(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
