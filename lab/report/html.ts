// The HTML the report is made of: escaping and a few builders.  Every string
// that comes from a run record goes through esc() (or attr()): the record
// holds guest output, console text and scenario names, any of which may
// carry markup.

/** Text for an element's content or a quoted attribute. */
export function esc(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    // Control characters (console escape remnants) have no business in HTML.
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
}

/** An id fit for an anchor: what a job id may hold, anything else as '_'. */
export function anchor(prefix: string, id: string): string {
  return `${prefix}-${id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * A relative link to a job file, never anything that leaves the disk: a
 * path with a scheme, an absolute path or one climbing out ('..') is
 * refused (undefined); each segment is percent-encoded.
 */
export function fileHref(base: string, path: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.startsWith('\\')) return undefined;
  const parts = path.split('/');
  if (parts.some((p) => p === '..' || p === '')) return undefined;
  const rel = parts.map(encodeURIComponent).join('/');
  return base === '' || base === '.' ? rel : `${base.split('/').map(encodeURIComponent).join('/')}/${rel}`;
}

/** A table: header cells and rows of already-built cell HTML. */
export function table(header: readonly string[], rows: readonly string[][], cls = ''): string {
  const head = `<tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** Milliseconds as seconds with one decimal ("-" when unknown). */
export function secs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** A value from a failure's expected/actual: strings as they are, the rest as JSON. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return 'undefined';
  return JSON.stringify(v, null, 2) ?? String(v);
}
