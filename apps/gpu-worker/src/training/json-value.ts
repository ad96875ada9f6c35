/**
 * A plain JSON copy of `v` for a Prisma Json column: JSON has no Infinity or NaN (a threshold of
 * +Infinity means "nothing called disease"), so non-finite numbers are stored as null.
 */
export function toJsonValue(v: unknown) {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x)));
}
