/**
 * Command text → { name, args, flags, mentions }. Pure: no I/O, never throws.
 *
 *   parse('deploy web/main to production --dry-run')
 *   // { ok: true, command: { name: 'deploy', args: ['web/main', 'to', 'production'], flags: { 'dry-run': true }, ... } }
 */
export const MAX_COMMAND_LENGTH = 2000;

export interface ParsedCommand {
  /** Lower-cased command word, e.g. 'deploy', 'lock!'. */
  name: string;
  /** Positional arguments after the command word, quotes removed, mentions normalised to '@id'. */
  args: string[];
  /** `--flag` → true, `--flag=value` → 'value'. Keys lower-cased. */
  flags: Record<string, string | true>;
  /** The '@...' arguments, without the '@'. */
  mentions: string[];
  /** The text after the command word, as typed (for reasons and free text). */
  rest: string;
}

export type ParseResult = { ok: true; command: ParsedCommand } | { ok: false; error: string };

// IRC formatting: bold, colour (with its digits), hex colour, reset, reverse, italic, strike, underline, monospace.
const IRC_FORMATTING = /\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/g;
// Any other control character (tab and newline become spaces first).
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]/g;
const QUOTES: Record<string, string> = { '"': '"', "'": "'", '\u201c': '\u201d', '\u2018': '\u2019', '\u201e': '\u201c' };
const COMMAND_WORD = /^[a-z][a-z0-9-]*!?$/;

/** Strips IRC formatting and control characters, folds whitespace. */
export function cleanText(text: string): string {
  return text
    .replace(IRC_FORMATTING, '')
    .replace(/[\t\r\n]/g, ' ')
    .replace(CONTROL, '')
    .trim();
}

interface Token {
  text: string;
  quoted: boolean;
  start: number;
}

function tokenize(s: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && s[i] === ' ') i++;
    if (i >= s.length) break;
    const start = i;
    let text = '';
    let quoted = false;
    while (i < s.length && s[i] !== ' ') {
      const close = QUOTES[s[i] as string];
      if (close !== undefined) {
        const end = s.indexOf(close, i + 1);
        if (end < 0) return `unterminated quote ${s[i]} at column ${i + 1}`;
        text += s.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else {
        text += s[i];
        i++;
      }
    }
    tokens.push({ text, quoted, start });
  }
  return tokens;
}

/** Slack writes mentions as <@U123> or <@U123|name>, channels as <#C123|name>, links as <http://x|x>. */
function normaliseSlackMarkup(s: string): string {
  return s
    .replace(/<@([A-Z0-9]+)(\|[^>]*)?>/g, '@$1')
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, '#$1')
    .replace(/<(https?:[^|>]+)(\|[^>]*)?>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function parse(input: string): ParseResult {
  if (typeof input !== 'string') return { ok: false, error: 'empty command — try `help`' };
  if (input.length > MAX_COMMAND_LENGTH * 4) return { ok: false, error: `command too long (${input.length} characters, at most ${MAX_COMMAND_LENGTH})` };
  const text = cleanText(normaliseSlackMarkup(input.normalize('NFC')));
  if (text === '') return { ok: false, error: 'empty command — try `help`' };
  if (text.length > MAX_COMMAND_LENGTH) return { ok: false, error: `command too long (${text.length} characters, at most ${MAX_COMMAND_LENGTH})` };

  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { ok: false, error: tokens };
  const [head, ...tail] = tokens;
  if (!head) return { ok: false, error: 'empty command — try `help`' };
  const name = head.text.toLowerCase();
  if (head.quoted || !COMMAND_WORD.test(name)) {
    const shown = head.text.length > 30 ? `${head.text.slice(0, 30)}…` : head.text;
    return { ok: false, error: `"${shown}" is not a command — try \`help\`` };
  }

  const args: string[] = [];
  const flags: Record<string, string | true> = {};
  const mentions: string[] = [];
  for (const token of tail) {
    const flag = !token.quoted && /^--([a-z][a-z0-9-]*)(?:=(.*))?$/i.exec(token.text);
    if (flag) {
      flags[(flag[1] as string).toLowerCase()] = flag[2] ?? true;
      continue;
    }
    if (!token.quoted && /^@[^\s@]+$/.test(token.text)) mentions.push(token.text.slice(1));
    args.push(token.text);
  }
  const firstArg = tail[0];
  const rest = firstArg ? text.slice(firstArg.start) : '';
  return { ok: true, command: { name, args, flags, mentions, rest } };
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0.5 : editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
