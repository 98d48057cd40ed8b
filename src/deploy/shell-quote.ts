/**
 * Quoting values for a POSIX shell. Everything Shepherd sends to a remote shell that is not a step from
 * shepherd.yml (paths, release ids, SHEPHERD_* values) goes through here, so no value can become syntax.
 *
 *   quote("it's") // 'it'\''s'
 *   exportPrefix({ SHEPHERD_REF: 'main' }) // "export SHEPHERD_REF='main'; "
 */

/** One shell word that means exactly `value`: single quotes, with each ' written as '\''. */
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be passed through a shell');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A path as a shell word; a leading `~/` stays relative to the remote user's home ("$HOME"/'rest'). */
export function quotePath(path: string): string {
  if (path === '~') return '"$HOME"';
  if (path.startsWith('~/')) return `"$HOME"/${quote(path.slice(2))}`;
  return quote(path);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `export A='1' B='2'; ` — environment for a remote command. sshd's AcceptEnv refuses most variables, so
 * values travel inside the command, quoted. Names must be plain identifiers (they are not quoted).
 */
export function exportPrefix(env: Record<string, string>): string {
  const entries = Object.entries(env);
  if (entries.length === 0) return '';
  for (const [name] of entries) if (!NAME.test(name)) throw new Error(`not an environment variable name: ${JSON.stringify(name)}`);
  return `export ${entries.map(([k, v]) => `${k}=${quote(v)}`).join(' ')}; `;
}
