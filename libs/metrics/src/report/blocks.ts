/** A tiny document model rendered to both Markdown and self-contained HTML, so the two never drift. */
export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; header: string[]; rows: string[][]; align?: ('left' | 'right' | 'center')[] }
  | { kind: 'code'; text: string }
  | { kind: 'plot'; name: string; title: string }
  | { kind: 'raw-markdown'; markdown: string; html: string };

const mdCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown; plots are linked as `plots/<name>.png`. */
export function toMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${b.text}`);
        break;
      case 'paragraph':
        out.push(b.text);
        break;
      case 'table': {
        const al = b.align ?? b.header.map(() => 'left');
        const sep = al.map((a) => (a === 'right' ? '---:' : a === 'center' ? ':---:' : '---'));
        out.push(
          [b.header, sep, ...b.rows]
            .map((r, i) => `| ${(i === 1 ? r : r.map(mdCell)).join(' | ')} |`)
            .join('\n'),
        );
        break;
      }
      case 'code':
        out.push('```text\n' + b.text.replace(/\n$/, '') + '\n```');
        break;
      case 'plot':
        out.push(`![${b.title}](plots/${b.name}.png)`);
        break;
      case 'raw-markdown':
        out.push(b.markdown.replace(/\n$/, ''));
        break;
    }
  }
  return out.join('\n\n') + '\n';
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Inline `code` and **bold** in paragraphs (after escaping). */
const inline = (s: string): string =>
  escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

const STYLE = `body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:0.6em 0}th,td{border:1px solid #ccc;padding:3px 9px}th{background:#f3f5f8}
td.right,th.right{text-align:right}td.center,th.center{text-align:center}
pre{background:#f6f8fa;padding:0.7em;overflow-x:auto}figure{display:inline-block;margin:0.5em 1em 0.5em 0;vertical-align:top}
figcaption{font-size:0.85em;color:#555}h1{border-bottom:2px solid #4c78a8}`;

/**
 * Prefixes every `id` in an SVG (and its `url(#…)` / `href="#…"` references) so that several inlined
 * charts cannot capture each other's gradients or clip paths.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const p = prefix.replace(/[^A-Za-z0-9_-]/g, '_');
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${p}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${p}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${p}-$1"`);
}

/** A complete HTML page with inline CSS and the plots' SVG inlined (no external files). */
export function toHtml(title: string, blocks: readonly Block[], svgs: ReadonlyMap<string, string>): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'heading':
        body.push(`<h${b.level}>${escapeHtml(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${inline(b.text)}</p>`);
        break;
      case 'table': {
        const al = b.align ?? b.header.map(() => 'left');
        const cls = (i: number): string => (al[i] === 'left' ? '' : ` class="${al[i]}"`);
        const head = b.header.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('');
        const rows = b.rows.map(
          (r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${inline(c)}</td>`).join('')}</tr>`,
        );
        body.push(`<table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`);
        break;
      }
      case 'code':
        body.push(`<pre>${escapeHtml(b.text)}</pre>`);
        break;
      case 'plot': {
        const svg = scopeSvgIds(svgs.get(b.name) ?? '', b.name);
        body.push(`<figure>${svg}<figcaption>${escapeHtml(b.title)}</figcaption></figure>`);
        break;
      }
      case 'raw-markdown':
        body.push(b.html);
        break;
    }
  }
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body>\n${body.join('\n')}\n</body></html>\n`
  );
}
