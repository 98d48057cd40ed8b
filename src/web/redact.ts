/**
 * Defence in depth: the deploy pipeline masks every line before it is published or stored, and the viewer
 * masks again on the way out, so a line that slipped through (an older row, a bug upstream, a secret added to
 * the environment later) still never reaches a browser, the API or the raw file. Same rules as the pipeline
 * (src/deploy/mask.ts); masking an already masked line changes nothing.
 *
 *   const redact = new Redactor(secretsFromEnv(process.env));
 *   redact.line('GITHUB_TOKEN=ghp_…') // 'GITHUB_TOKEN=********'
 */
import { Masker } from '../deploy/mask.js';

export class Redactor {
  private readonly secrets: string[];
  /** Never sees a line that opens a key block, so it never carries state from one line to the next. */
  private readonly stateless: Masker;

  constructor(secrets: Iterable<string | undefined | null> = []) {
    this.secrets = [...secrets].filter((s): s is string => typeof s === 'string');
    this.stateless = new Masker(this.secrets);
  }

  /**
   * One line on its own (API pages, live events). Lines are served out of order, so a private-key block that
   * started on some other line must not blank this one: a line that opens a block gets a throwaway Masker.
   */
  line(text: string): string {
    return text.includes('PRIVATE KEY-----') ? new Masker(this.secrets).line(text) : this.stateless.line(text);
  }

  /** A text of several lines (an error message): each line, a private key spanning lines included. */
  text(text: string): string {
    return new Masker(this.secrets).text(text);
  }

  /**
   * A whole log read in order (the raw download): keeps the pipeline's per-host-and-stream state, so the
   * body of a private key that reached storage unmasked is blanked too.
   */
  sequential(): (text: string, host: string | null, stream: string) => string {
    const masker = new Masker(this.secrets);
    return (text, host, stream) => masker.line(text, `${host ?? ''}:${stream}`);
  }
}
