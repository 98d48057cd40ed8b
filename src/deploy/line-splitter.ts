/**
 * Output arrives in chunks that cut lines (and UTF-8 characters) anywhere. A LineSplitter keeps the partial
 * line until its end arrives, caps very long lines (a minified bundle printed on one line must not become a
 * 50 MB row), and hands out whole lines. One splitter per host and stream.
 *
 *   const s = new LineSplitter((line) => store(line));
 *   s.push(Buffer.from('hel')); s.push(Buffer.from('lo\nwor')); s.end(); // 'hello', 'wor'
 */
import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE_CHARS = 8192;
export const TRUNCATED = ' … [line truncated]';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** Inside an over-long line: drop everything until its newline. */
  private skipping = false;

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: Buffer | string): void {
    this.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  /** Flushes the last line even without a trailing newline. */
  end(): void {
    this.feed(this.decoder.end());
    if (this.partial.length > 0 && !this.skipping) this.emit(stripCr(this.partial));
    this.partial = '';
    this.skipping = false;
  }

  private feed(text: string): void {
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) {
        this.append(text.slice(start));
        return;
      }
      if (this.skipping) this.skipping = false;
      else {
        const piece = text.slice(start, nl);
        const line = this.partial.length > 0 ? this.partial + piece : piece;
        this.partial = '';
        this.emit(line.length > this.maxChars ? line.slice(0, this.maxChars) + TRUNCATED : stripCr(line));
      }
      start = nl + 1;
    }
  }

  private append(piece: string): void {
    if (this.skipping) return;
    this.partial += piece;
    if (this.partial.length > this.maxChars) {
      this.emit(this.partial.slice(0, this.maxChars) + TRUNCATED);
      this.partial = '';
      this.skipping = true;
    }
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
