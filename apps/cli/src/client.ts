import { CliError, type CliErrorCode } from './errors';

/** Query values; undefined ones are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** The API's error body: `{statusCode, error, message, code?, issues?}`. */
interface ApiErrorBody {
  statusCode?: number;
  message?: string | string[];
  code?: string;
  issues?: Array<{ path?: string; message?: string }>;
}

/** A thin HTTP client over Node's fetch: bearer key, JSON in and out, errors as CliError. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
  ) {}

  url(path: string, query: Query = {}): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const s = qs.toString();
    return `${this.baseUrl}${path}${s ? `?${s}` : ''}`;
  }

  /** GET and parse JSON. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.json<T>('GET', path, { query });
  }

  /** POST a JSON body (or none) and parse the JSON answer. */
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>('POST', path, { body });
  }

  async json<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError('server', `the API answered ${method} ${path} with something that is not JSON`);
    }
  }

  /** The response, with a non-2xx answer turned into a CliError. The caller reads the body. */
  async raw(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; accept?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.key}`,
      accept: opts.accept ?? 'application/json',
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.url(path, opts.query), { method, headers, body, signal: opts.signal });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        'unreachable',
        `cannot reach the API at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}): ` +
          'is it running? check the URL given to `fundus login` or FUNDUS_API_URL',
      );
    }
    if (!res.ok) throw await toError(res, method, path);
    return res;
  }
}

async function toError(res: Response, method: string, path: string): Promise<CliError> {
  let body: ApiErrorBody = {};
  try {
    body = (await res.json()) as ApiErrorBody;
  } catch {
    body = {};
  }
  const raw = Array.isArray(body.message) ? body.message.join('; ') : body.message;
  const message = raw || res.statusText || `HTTP ${res.status}`;
  const details = { status: res.status, apiCode: body.code, issues: body.issues };
  const issues = (body.issues ?? [])
    .map((i) => `  - ${i.path ? `${i.path}: ` : ''}${i.message ?? ''}`)
    .join('\n');
  const s = res.status;
  const [code, text]: [CliErrorCode, string] =
    s === 401
      ? [
          'unauthorized',
          `the API refused the key (401: ${message}): run \`fundus login --url … --key …\` with a valid key`,
        ]
      : s === 403
        ? [
            'forbidden',
            `your key's role may not do this (403: ${message}): ask an admin for a key with that role`,
          ]
        : s === 404
          ? ['not-found', `not found (404): ${message}${listHint(path)}`]
          : s === 409 || s === 422
            ? ['conflict', `the API refused ${method} ${path} (${s}): ${message}`]
            : s === 429
              ? [
                  'rate-limited',
                  `too many requests (429): retry in ${res.headers.get('retry-after') ?? 'a few'} s`,
                ]
              : s >= 400 && s < 500
                ? [
                    'invalid-request',
                    `the API rejected the request (${s}): ${message}${issues ? `\n${issues}` : ''}`,
                  ]
                : ['server', `the API failed on ${method} ${path} (${s}): ${message}; see the API's logs`];
  return new CliError(code, text, details);
}

/** Which list command shows the ids of the resource a path names (for not-found messages). */
function listHint(path: string): string {
  const resource = path.split('/')[1];
  const group = { runs: 'runs', sweeps: 'sweeps', datasets: 'datasets', models: 'models' }[resource ?? ''];
  return group ? `; list the ids with \`fundus ${group} list\`` : '';
}
