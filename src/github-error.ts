/**
 * GitHub failures, in a module of their own so code that only catches them does not load Octokit.
 *
 *   if (err instanceof GitHubError && err.kind === 'rate-limit') ...
 */
export type GitHubErrorKind = 'auth' | 'rate-limit' | 'network' | 'timeout' | 'invalid-input' | 'not-found' | 'http' | 'bad-response';

/** A failure talking to GitHub, with a one-line message fit for chat ("GitHub said 401 Bad credentials"). */
export class GitHubError extends Error {
  override name = 'GitHubError';
  readonly kind: GitHubErrorKind;
  /** The HTTP status, when GitHub answered. */
  readonly status?: number;

  constructor(message: string, options: { kind?: GitHubErrorKind; status?: number; cause?: unknown } = {}) {
    super(oneLine(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind ?? 'http';
    this.status = options.status;
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
