/** Thin client for the fundus-screen API: bearer key from sessionStorage, JSON answers. */

const KEY = 'fundus.apiKey';

export type Role = 'admin' | 'researcher' | 'viewer';

/** Error from the API with its HTTP status and machine-readable `code` when the API sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const session = {
  get key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set(key: string): void {
    sessionStorage.setItem(KEY, key);
  },
  clear(): void {
    sessionStorage.removeItem(KEY);
  },
};

function headers(key = session.key): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** GET or POST a JSON resource; throws {@link ApiError} on a non-2xx answer. */
export async function api<T>(
  path: string,
  init: { method?: string; json?: unknown; key?: string } = {},
): Promise<T> {
  const h = headers(init.key ?? session.key);
  if (init.json !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: h,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const b = (body ?? {}) as { code?: string; message?: unknown };
    const message = Array.isArray(b.message) ? b.message.join('; ') : String(b.message ?? res.statusText);
    throw new ApiError(res.status, b.code ?? `http-${res.status}`, message);
  }
  return body as T;
}

/**
 * Which role a key has: admin when it may list API keys (admin-only), otherwise researcher or
 * viewer (told apart by whether it may create a run: an empty body is refused with 400 for a
 * researcher before anything is created, and with 403 for a viewer). Throws on a bad key (401).
 */
export async function roleOf(key: string): Promise<Role> {
  try {
    await api('/api-keys', { key });
    return 'admin';
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
  }
  try {
    await api('/runs', { method: 'POST', json: {}, key });
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return 'viewer';
    if (e instanceof ApiError && e.status === 400) return 'researcher';
    throw e;
  }
  return 'researcher';
}

/**
 * Reads a server-sent event stream with the bearer key (EventSource cannot send headers) and
 * calls `onEvent` per event until the server closes it or `signal` aborts.
 */
export async function streamEvents(
  path: string,
  onEvent: (event: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let sep: number;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) onEvent(event, JSON.parse(data));
    }
  }
}
