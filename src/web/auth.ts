/**
 * Who may see the viewer. WEB_AUTH is either `user:password` (HTTP basic auth, what a browser prompts for) or
 * a token (`Authorization: Bearer <token>`, or basic auth with the token as password so a browser can use it
 * too). Comparison is constant-time. A viewer bound to anything but loopback must have WEB_AUTH.
 *
 *   const check = createAuthCheck('ops:s3cret');
 *   check(req.headers.authorization) // true | false
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

/**
 * Thrown when the viewer must not start (see bindingProblem); the message is one line for the terminal. Here
 * rather than in server.ts so the start can refuse before it loads the web server.
 *
 *   if (problem) throw new WebConfigError(problem);
 */
export class WebConfigError extends Error {
  override name = 'WebConfigError';
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for addresses only this machine can reach: localhost, 127.0.0.0/8, ::1 (IPv4-mapped forms too). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = isIP(h);
  // Any other name could resolve to a public address, so it counts as public.
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** Why the viewer must not start on this host with this auth, or null when it may. One line. */
export function bindingProblem(host: string, auth: string | undefined): string | null {
  if (isLoopbackHost(host) || (auth && auth.length > 0)) return null;
  return `WEB_HOST=${host} is reachable from other machines: set WEB_AUTH (user:password or a token) or bind WEB_HOST=127.0.0.1`;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Hashing first makes both sides 32 bytes, so timingSafeEqual never leaks the secret's length. */
function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Returns a function that says whether an Authorization header is acceptable. With no WEB_AUTH every request
 * passes (loopback only, enforced by bindingProblem at start).
 */
export function createAuthCheck(auth: string | undefined): (header: string | undefined) => boolean {
  if (!auth) return () => true;
  const colon = auth.indexOf(':');
  const basic = colon > 0 ? { user: auth.slice(0, colon), pass: auth.slice(colon + 1) } : null;
  return (header) => {
    if (!header) return false;
    const space = header.indexOf(' ');
    if (space < 0) return false;
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer') return same(value, auth);
    if (scheme !== 'basic') return false;
    let decoded: string;
    try {
      decoded = Buffer.from(value, 'base64').toString('utf8');
    } catch {
      return false;
    }
    const sep = decoded.indexOf(':');
    if (sep < 0) return false;
    const user = decoded.slice(0, sep);
    const pass = decoded.slice(sep + 1);
    // Evaluate both comparisons always: short-circuiting would tell apart a wrong user from a wrong password.
    if (basic) return Number(same(user, basic.user)) + Number(same(pass, basic.pass)) === 2;
    return same(pass, auth);
  };
}
