/**
 * Safe HTML building without a template engine: `html` escapes every interpolated value unless it is
 * already `Html` (the output of another `html` call or `raw()`), so log text or a lock reason can never
 * become markup.
 *
 *   const page = html`<p>${userText}</p>${raw('<hr>')}`.toString();
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Marks trusted markup (built here, never from data). */
export function raw(markup: string): Html {
  return new Html(markup);
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** JSON for a `<script type="application/json">` block: `<` is escaped so `</script>` in data cannot close it. */
export function jsonForScript(data: unknown): Html {
  return new Html(
    JSON.stringify(data)
      .replace(/</g, '\\u003c')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029'),
  );
}

export interface LayoutOptions {
  title: string;
  body: Html;
  /** Extra scripts from /static (module scripts, no inline code: the CSP forbids it). */
  scripts?: string[];
}

export function layout({ title, body, scripts = [] }: LayoutOptions): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Shepherd</title>
<link rel="stylesheet" href="/static/style.css">
<link rel="icon" href="data:,">
${scripts.map((s) => html`<script type="module" src="/static/${s}"></script>\n`)}</head>
<body>
<header class="top"><a class="brand" href="/"><span class="logo">S</span>Shepherd</a><nav><a href="/">Dashboard</a><a href="/#metrics">DORA metrics</a><a href="/audit">Audit</a><a href="/api/deploys">API</a></nav></header>
<main>
${body}
</main>
</body>
</html>`}`;
}
