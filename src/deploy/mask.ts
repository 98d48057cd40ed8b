/**
 * Secrets never reach the database, the viewer or chat: every log line passes through a Masker first.
 * It masks the configured secret values (tokens, passwords), PEM private key blocks (which span lines, so
 * the masker keeps state per stream), and `password=`/`token=`/`secret=` style assignments.
 *
 *   const m = new Masker(['xoxb-123']);
 *   m.line('curl -H "Authorization: token xoxb-123"') // 'curl -H "Authorization: token ********"'
 */
export const MASK = '********';

const ASSIGNMENT =
  /\b((?:[A-Za-z0-9_]*(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_]*)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s"',;&]+)/gi;
const BEARER = /\b(Bearer|token)\s+([A-Za-z0-9._~+/=-]{12,})/g;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi;
const KNOWN_TOKEN = /\b(xox[abprs]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g;
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----/;
const PEM_END = /-----END ([A-Z0-9 ]*PRIVATE KEY)-----/;
/**
 * Every pattern above needs one of these words, so a line without any of them skips the four replacements.
 * Most build output has none: this keeps masking cheap at hundreds of thousands of lines per deploy.
 * (Alternatives grouped by first letter: ~10% faster than the flat list on build output, same matches.)
 */
const MAYBE_SECRET = /p(?:assw|wd|rivate[_-]?key)|token|secret|a(?:pi|ccess)[_-]?key|bearer|:\/\/|x(?:ox[abprs]|app)-|g(?:h[pousr]_|ithub_pat_)|-----BEGIN/i;
/**
 * What each replacement cannot match without: tested first, because a global replace that finds nothing still
 * costs a scan, and ASSIGNMENT and URL_PASSWORD cost ~0.5 µs a line each. Lines with a URL (npm's fetch log)
 * took 1.8 µs to mask without these checks, 0.5 µs with them.
 */
const MAYBE_KNOWN_TOKEN = /xox[abprs]-|xapp-|gh[pousr]_|github_pat_/;
const MAYBE_ASSIGNMENT = /passw|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key/i;

export class Masker {
  private readonly secrets: string[];
  /** Streams (e.g. 'web-1:stdout') currently inside a PEM private key block. */
  private readonly inKey = new Set<string>();

  /** `secrets`: exact values to hide wherever they appear (values shorter than 4 characters are ignored). */
  constructor(secrets: Iterable<string | undefined | null> = []) {
    this.secrets = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  /** Masks one line. `stream` keys the multi-line private-key state (one per host and stream). */
  line(text: string, stream = 'default'): string {
    if (this.inKey.size > 0 && this.inKey.has(stream)) {
      if (PEM_END.test(text)) {
        this.inKey.delete(stream);
        return text.replace(/^.*?(-----END)/, `${MASK}$1`);
      }
      return MASK;
    }
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
    if (!MAYBE_SECRET.test(out)) return out;
    const begin = PEM_BEGIN.exec(out);
    if (begin) {
      const afterBegin = out.slice(begin.index + begin[0].length);
      if (PEM_END.test(afterBegin)) return out.slice(0, begin.index + begin[0].length) + afterBegin.replace(/^.*?(-----END)/, `${MASK}$1`);
      this.inKey.add(stream);
      return out.slice(0, begin.index + begin[0].length) + (afterBegin.trim() ? MASK : '');
    }
    // Each check is made on the text the replacement gets, so skipping a replacement never changes the result.
    if (MAYBE_KNOWN_TOKEN.test(out)) out = out.replace(KNOWN_TOKEN, MASK);
    if (out.includes('@')) out = out.replace(URL_PASSWORD, `$1${MASK}$3`);
    if (MAYBE_ASSIGNMENT.test(out)) out = out.replace(ASSIGNMENT, `$1${MASK}`);
    return out.replace(BEARER, `$1 ${MASK}`);
  }
}

/** The values from the environment that must never be shown. */
export function secretsFromEnv(env: Record<string, string | undefined>): string[] {
  return ['GITHUB_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'IRC_PASSWORD', 'WEB_AUTH']
    .map((k) => env[k])
    .filter((v): v is string => Boolean(v));
}
