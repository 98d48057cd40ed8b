/**
 * Secrets never reach the database, the viewer, chat or the logs: every log line, error text and chat line
 * passes through a Masker first. It masks the configured secret values (secretsFromEnv), well-known token shapes
 * (GitHub, Slack, AWS, JWT, Stripe, npm, Google, SendGrid, ...), PEM private key blocks (which span lines, so
 * the masker keeps state per stream), passwords in URLs, flags (`--password X`, mysql's `-pX`) and
 * `password=`/`"token": "…"` style assignments.
 *
 * Rules run on the text with ANSI escape codes removed, so a colour code right before a token or inside it hides
 * nothing; the masked ranges are then mapped back onto the original text, which keeps the colours of everything
 * else (the codes inside a secret are kept, after the mask, so the colour state that follows is unchanged).
 *
 * Names that merely contain PASS/PWD-like letters are not secrets: `PWD`/`OLDPWD` (the working directory), and
 * names whose last word says what the value describes rather than being it: `PASSWORD_MIN_LENGTH=8`,
 * `TOKEN_TTL=3600`, `--password-file /etc/x`, `max_tokens=512`, `SECRET_NAME=db`, `TOKEN_URL=https://…`.
 *
 *   const m = new Masker(['xoxb-123']);
 *   m.line('curl -H "Authorization: token xoxb-123"') // 'curl -H "Authorization: token ********"'
 */
export const MASK = '********';

/** A function that masks a text (maybe several lines): what the store, events, logger and chat are given. */
export type MaskText = (text: string) => string;

/** CSI (colours, cursor), OSC (titles, links; ended by BEL or ST) and the two-character escapes. */
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])/g;

/**
 * Words that make a name (`DB_PASSWORD`, `api-key`, `"client_secret"`) hold a secret. `pwd` only counts as a
 * word after a separator (`DB_PWD`, `MYSQL_PWD`), never as the whole name (`PWD`, `OLDPWD` are directories).
 */
const SECRET_WORD = /passw(?:or)?d|passphrase|[_.-]pwd|token|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key/i;
/** Last words of a name that describe a secret rather than hold it. */
const DESCRIPTOR =
  /[_.-](?:min|max|length|len|file|path|dir|url|uri|endpoint|ttl|expiry|expires|expires_in|expiration|timeout|type|name|count|size|header|prefix|enabled|required|policy|env|var)$/i;
/** Counts (`max_tokens`, `total_tokens`): LLM and tokenizer output, not secrets. */
const COUNT_NAME = /^(?:max|min|num|total|prompt|completion|input|output)[_-]?tokens$/i;

/** Whether a variable, key or flag name (`DB_PASSWORD`, `password-file`) names a secret value. */
export function isSecretName(name: string): boolean {
  const n = name.replace(/^-+/, '');
  return SECRET_WORD.test(n) && !DESCRIPTOR.test(n) && !COUNT_NAME.test(n);
}

/** Bare tokens whose shape alone says they are secrets. Each match is masked whole. */
const KNOWN_TOKEN = new RegExp(
  [
    'gh[pousr]_[A-Za-z0-9]{20,}',
    'github_pat_[A-Za-z0-9_]{20,}',
    'glpat-[A-Za-z0-9_-]{20,}',
    'xox[a-z](?:\\.xox[a-z])?-[A-Za-z0-9-]{8,}',
    'xapp-[A-Za-z0-9-]{8,}',
    '(?:AKIA|ASIA)[A-Z0-9]{16}',
    'eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*',
    '[rs]k_(?:live|test)_[A-Za-z0-9]{10,}',
    'whsec_[A-Za-z0-9]{16,}',
    'sk-(?:proj-)?[A-Za-z0-9_-]{32,}',
    'npm_[A-Za-z0-9]{36}',
    'AIza[0-9A-Za-z_-]{35}',
    'SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}',
    'pypi-AgE[A-Za-z0-9_-]{40,}',
    'dckr_pat_[A-Za-z0-9_-]{20,}',
  ]
    .map((p) => `(?<![A-Za-z0-9_])${p}`)
    .join('|'),
  'g',
);
/** scheme://user:password@host: the password. */
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]+)@/gi;
/** An Authorization header's credentials, whatever the scheme. */
const AUTH_HEADER = /\bauthorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|digest|bot)\s+)?([^\s"',;]+)/gi;
/** `Bearer X` / `token X` on their own: X must look like a credential (a digit in it), not a word. */
const BEARER = /\b(?:bearer|token)\s+((?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,})/gi;
/** `--password X`, `--db-password=X`, `-token X`: the flag's name decides (see isSecretName). */
const FLAG = /(?<![\w-])(-{1,2}[A-Za-z][\w-]*)(?:=|\s+(?!-))("[^"]*"|'[^']*'|[^\s"']+)/g;
/** The MySQL/MariaDB clients' `-pSECRET` (the password glued to -p), on a line that runs one of them. */
const MYSQL_TOOL = /\b(?:mysql\w*|mariadb\w*)\b/i;
const MYSQL_P = /(?<=\s)-p([^\s"']+|"[^"]*"|'[^']*')/g;
/**
 * `NAME=value`, `name: value`, `"name": "value"`, `\"name\":\"value\"` (JSON inside a string): the name decides.
 * Groups: 1 name, 2 "…" value, 3 '…' value, 4 \"…\" value, 5 bare value.
 */
const ASSIGNMENT = /([A-Za-z_][\w.-]*)\\?["']?\s*[=:]\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|\\"((?:[^"\\]|\\[^"])*)\\"|([^\s"',;&}\]\\]+))/g;
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----/;
const PEM_END = /-----END ([A-Z0-9 ]*PRIVATE KEY)-----/;

/**
 * Every rule needs one of these, so a line without any of them skips the rules. Most build output has none:
 * this keeps masking cheap at hundreds of thousands of lines per deploy. Two short tests (words, any case; token
 * prefixes, exact case) cost less than one with every alternative: each alternative starting with a common
 * letter is tried at every such letter of the line.
 */
const MAYBE_WORD = /p(?:ass|wd)|token|secret|key|cred|bearer|authoriz|:\/\/|-----BEGIN|m(?:ysql|ariadb)/i;
const MAYBE_TOKEN = /g(?:h[pousr]_|ithub_pat_|lpat-)|x(?:ox|app-)|A(?:KIA|SIA|Iza)|eyJ|[rs]k_(?:live|test)_|whsec_|sk-|npm_|SG\.|pypi-|dckr_pat_/;
/** What each rule cannot match without: a global match that finds nothing still costs a scan of the line. */
const MAYBE_AUTH_HEADER = /authorization/i;
const MAYBE_BEARER = /bearer|token/i;

type Range = [start: number, end: number];

export class Masker {
  private readonly secrets: string[];
  /** Streams (e.g. 'web-1:stdout') currently inside a PEM private key block. */
  private readonly inKey = new Set<string>();
  private textCalls = 0;

  /** `secrets`: exact values to hide wherever they appear (values shorter than 4 characters are ignored). */
  constructor(secrets: Iterable<string | undefined | null> = []) {
    this.secrets = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  /** Masks one line. `stream` keys the multi-line private-key state (one per host and stream). */
  line(text: string, stream = 'default'): string {
    // Fast path: no escape code, so the rules run on the text itself.
    if (!text.includes('\x1b')) {
      const ranges = this.ranges(text, stream);
      return ranges ? replace(text, ranges) : text;
    }
    // Coloured output is common and mostly holds no secret: the index map is only built when one is found.
    const ranges = this.ranges(text.replace(ANSI, ''), stream);
    return ranges ? replaceMapped(text, ranges, indexMap(text)) : text;
  }

  /**
   * Whether no line of `text` (many lines of `stream`, as one output chunk brought them) can need masking, so
   * line() may be skipped for each: no escape code, no configured value, none of what every rule needs, and the
   * stream not inside a private key. One scan of a 32 KiB chunk costs less than 400 scans of its lines.
   *   if (!m.clean(chunkText, key)) lines = lines.map((l) => m.line(l, key));
   */
  clean(text: string, stream = 'default'): boolean {
    if ((this.inKey.size > 0 && this.inKey.has(stream)) || text.includes('\x1b')) return false;
    for (const secret of this.secrets) if (text.includes(secret)) return false;
    return !MAYBE_WORD.test(text) && !MAYBE_TOKEN.test(text);
  }

  /** Masks a whole text (an error message, a chat line): every line, a private key spanning lines included. */
  text(text: string): string {
    if (!text) return text;
    const stream = `\0text${this.textCalls++}`;
    const out = text.includes('\n')
      ? text
          .split('\n')
          .map((l) => this.line(l, stream))
          .join('\n')
      : this.line(text, stream);
    this.inKey.delete(stream);
    return out;
  }

  /** Where the secrets are in `text` (no escape codes), in order and not overlapping; null if none. */
  private ranges(text: string, stream: string): Range[] | null {
    if (this.inKey.size > 0 && this.inKey.has(stream)) {
      const end = PEM_END.exec(text);
      if (!end) return text.length ? [[0, text.length]] : null;
      this.inKey.delete(stream);
      // The mask stands for the key's last lines even when END starts the line (zero-length range).
      return [[0, end.index], ...(this.rules(text.slice(end.index), end.index) ?? [])];
    }
    let found: Range[] | null = null;
    for (const secret of this.secrets) {
      for (let i = text.indexOf(secret); i !== -1; i = text.indexOf(secret, i + secret.length)) {
        found ??= [];
        found.push([i, i + secret.length]);
      }
    }
    if (!MAYBE_WORD.test(text) && !MAYBE_TOKEN.test(text)) return found && merge(found);
    found ??= [];
    const begin = PEM_BEGIN.exec(text);
    if (begin) {
      const from = begin.index + begin[0].length;
      const end = PEM_END.exec(text.slice(from));
      if (end) {
        if (end.index > 0) found.push([from, from + end.index]);
      } else {
        this.inKey.add(stream);
        if (text.slice(from).trim()) found.push([from, text.length]);
      }
    }
    const more = this.rules(text, 0);
    if (more) found.push(...more);
    return found.length ? merge(found) : null;
  }

  /** The single-line rules on `text`, ranges offset by `offset`. */
  private rules(text: string, offset: number): Range[] | null {
    const found: Range[] = [];
    const add = (start: number, length: number) => {
      if (length > 0) found.push([offset + start, offset + start + length]);
    };
    if (MAYBE_TOKEN.test(text)) for (const m of text.matchAll(KNOWN_TOKEN)) add(m.index, m[0].length);
    if (text.includes('@') && text.includes('://'))
      for (const m of text.matchAll(URL_PASSWORD)) add(m.index + m[0].length - 1 - (m[1] as string).length, (m[1] as string).length);
    if (MAYBE_AUTH_HEADER.test(text)) for (const m of text.matchAll(AUTH_HEADER)) add(m.index + m[0].length - (m[1] as string).length, (m[1] as string).length);
    if (MAYBE_BEARER.test(text)) for (const m of text.matchAll(BEARER)) add(m.index + m[0].length - (m[1] as string).length, (m[1] as string).length);
    // Flags and assignments are secrets only by their name, which must hold a secret word.
    const named = SECRET_WORD.test(text);
    if (text.includes('-')) {
      FLAG.lastIndex = 0;
      for (let m = named ? FLAG.exec(text) : null; m; m = FLAG.exec(text)) {
        // Not a secret: look again right after the name, so its "value" can still be a flag or assignment.
        if (!isSecretName(m[1] as string)) {
          FLAG.lastIndex = m.index + (m[1] as string).length;
          continue;
        }
        const value = m[2] as string;
        const quoted = value.startsWith('"') || value.startsWith("'");
        add(m.index + m[0].length - value.length + (quoted ? 1 : 0), value.length - (quoted ? 2 : 0));
      }
      if (MYSQL_TOOL.test(text)) {
        for (const m of text.matchAll(MYSQL_P)) {
          const value = m[1] as string;
          const quoted = value.startsWith('"') || value.startsWith("'");
          add(m.index + 2 + (quoted ? 1 : 0), value.length - (quoted ? 2 : 0));
        }
      }
    }
    if (named && (text.includes('=') || text.includes(':'))) {
      ASSIGNMENT.lastIndex = 0;
      for (let m = ASSIGNMENT.exec(text); m; m = ASSIGNMENT.exec(text)) {
        if (!isSecretName(m[1] as string)) {
          ASSIGNMENT.lastIndex = m.index + (m[1] as string).length;
          continue;
        }
        const value = m[2] ?? m[3] ?? m[4] ?? (m[5] as string);
        // The value ends the match, then its closing quote (1 character, or 2 for \").
        const close = m[2] !== undefined || m[3] !== undefined ? 1 : m[4] !== undefined ? 2 : 0;
        add(m.index + m[0].length - close - value.length, value.length);
      }
    }
    return found.length ? found : null;
  }
}

/** Sorts ranges and joins the ones that overlap. */
function merge(ranges: Range[]): Range[] {
  if (ranges.length === 1) return ranges;
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Range[] = [ranges[0] as Range];
  for (const r of ranges.slice(1)) {
    const last = out[out.length - 1] as Range;
    if (r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

function replace(text: string, ranges: Range[]): string {
  let out = '';
  let from = 0;
  for (const [start, end] of ranges) {
    out += text.slice(from, start) + MASK;
    from = end;
  }
  return out + text.slice(from);
}

/** For each character of the text without escape codes (and for its end): its index in the original. */
function indexMap(text: string): Int32Array {
  const at = new Int32Array(text.length + 1);
  let n = 0;
  let from = 0;
  for (const m of text.matchAll(ANSI)) {
    for (let i = from; i < m.index; i++) at[n++] = i;
    from = m.index + m[0].length;
  }
  for (let i = from; i < text.length; i++) at[n++] = i;
  at[n] = text.length;
  return at;
}

/** Replaces ranges of the stripped text in the original; escape codes inside a masked range follow the mask. */
function replaceMapped(text: string, ranges: Range[], at: Int32Array): string {
  let out = '';
  let from = 0;
  for (const [start, end] of ranges) {
    const oStart = at[start] as number;
    const oEnd = end > start ? (at[end - 1] as number) + 1 : oStart;
    out += text.slice(from, oStart) + MASK + (text.slice(oStart, oEnd).match(ANSI)?.join('') ?? '');
    from = oEnd;
  }
  return out + text.slice(from);
}

const patternsOnly = new Masker();
/**
 * The rules without any configured values: what a store or event stream masks with when it was given nothing
 * (tests, tools). The bot passes `(t) => new Masker(secretsFromEnv(env)).text(t)` everywhere instead.
 */
export const maskPatterns: MaskText = (text) => patternsOnly.text(text);

/** Variables whose values are always secrets, whatever else the environment holds. */
const SECRET_VARIABLES = ['GITHUB_TOKEN', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'IRC_PASSWORD', 'WEB_AUTH'];

/**
 * The values from the environment that must never be shown: the variables above, every variable whose name
 * names a secret (isSecretName: `DB_PASSWORD`, `STRIPE_API_KEY`; values of 8+ characters, so `true` or `1` are
 * not masked everywhere), the password of WEB_AUTH's `user:password`, and passwords inside URL values
 * (`DATABASE_URL=postgres://app:pw@db/app`).
 */
export function secretsFromEnv(env: Record<string, string | undefined>): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_VARIABLES.includes(name) || (value.length >= 8 && isSecretName(name))) out.add(value);
    for (const m of value.matchAll(URL_PASSWORD)) out.add(m[1] as string);
  }
  const webPassword = env.WEB_AUTH?.split(':').slice(1).join(':');
  if (webPassword) out.add(webPassword);
  return [...out];
}
