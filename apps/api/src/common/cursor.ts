import { RequestValidationError } from './validation';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Opaque keyset cursor: base64url of `[sortValue, id]` of the last row of a page. The next page
 * continues strictly after that row in (sortValue, id) order, so pages never overlap or skip rows
 * that existed when the first page was read.
 */
export function encodeCursor(value: string | number | Date, id: string): string {
  const v = value instanceof Date ? { d: value.toISOString() } : value;
  return Buffer.from(JSON.stringify([v, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { value: string | number | Date; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[1] === 'string' &&
      UUID.test(parsed[1])
    ) {
      const [v, id] = parsed as [unknown, string];
      if (typeof v === 'number' || typeof v === 'string') return { value: v, id };
      if (v && typeof v === 'object' && typeof (v as { d?: unknown }).d === 'string') {
        const d = new Date((v as { d: string }).d);
        if (!Number.isNaN(d.getTime())) return { value: d, id };
      }
    }
  } catch {
    // fall through
  }
  throw new RequestValidationError('query', [
    { path: 'cursor', message: 'is not a cursor returned by this endpoint' },
  ]);
}

/** Order of every "newest first" list: createdAt, then id, both descending. */
export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/**
 * Keyset condition for a NEWEST_FIRST list: the rows strictly after the cursor's row, or nothing
 * to add without a cursor.
 */
export function olderThanCursor(cursor: string | undefined) {
  if (!cursor) return {};
  const after = decodeCursor(cursor);
  return {
    OR: [
      { createdAt: { lt: after.value as Date } },
      { createdAt: after.value as Date, id: { lt: after.id } },
    ],
  };
}

/** A NEWEST_FIRST page from rows fetched with `take: limit + 1`: the items and the next cursor. */
export function newestFirstPage<T extends { createdAt: Date; id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}
