/**
 * Formats `x` like Python's `format(x, '.{digits}f')`: correctly rounded from the exact binary value,
 * exact ties to even (JS `toFixed` rounds them up), `nan` / `inf` / `-inf` for non-finite values.
 * `digits` in [0, 20].
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Object.is(x, -0)) return '-' + (0).toFixed(digits);
  if (Math.abs(x) >= 1e21) {
    // toFixed switches to exponent notation here; such doubles are integers, so print them whole.
    return BigInt(x).toString() + (digits > 0 ? '.' + '0'.repeat(digits) : '');
  }
  const s = x.toFixed(digits);
  // A tie needs exactly digits + 1 decimals ending in 5; toFixed(100) shows the exact expansion far enough.
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (tail[0] === '5' && /^50*$/.test(tail)) {
    // toFixed rounded away from zero; Python rounds to the even neighbour.
    const kept = exact.slice(0, dot + 1 + digits).replace(/\.$/, '');
    const lastDigit = Number(kept[kept.length - 1]);
    if (lastDigit % 2 === 0) return (x < 0 ? '-' : '') + kept;
  }
  return s;
}
