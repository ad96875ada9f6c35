import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to the next requests, in order; once the queue is empty it forwards. */
export type Fault = { kind: 'status'; status: number; code?: string } | { kind: 'reset' } | { kind: 'hang' };

/** An HTTP proxy in front of an S3 endpoint that injects failures on demand. */
export interface FaultProxy {
  endpoint: string;
  /** Queues faults for the next requests (one fault per request). */
  inject(...faults: Fault[]): void;
  /** Requests seen, faulted or not. */
  readonly requests: number;
  /** Requests answered with a fault. */
  readonly faulted: number;
  /** `METHOD url` of every request seen, in arrival order. */
  readonly log: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts a proxy on a free 127.0.0.1 port forwarding to `target` (e.g. an s3rver endpoint). Faulted
 * requests get an S3-style XML error body (`status`), a destroyed socket (`reset`) or no answer
 * until the client gives up (`hang`). Host headers are kept, so SigV4 signatures stay valid.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const queue: Fault[] = [];
  const hung = new Set<http.ServerResponse>();
  let requests = 0;
  let faulted = 0;
  const log: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    requests += 1;
    log.push(`${req.method} ${req.url}`);
    const fault = queue.shift();
    if (fault) {
      faulted += 1;
      // Drain the request body first so the client is not blocked writing it.
      req.resume();
      req.on('end', () => {
        if (fault.kind === 'reset') {
          req.socket.destroy();
        } else if (fault.kind === 'hang') {
          hung.add(res);
        } else {
          const code = fault.code ?? (fault.status === 503 ? 'SlowDown' : 'InternalError');
          res.writeHead(fault.status, { 'content-type': 'application/xml' });
          res.end(
            `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`,
          );
        }
      });
      return;
    }
    const upstream = http.request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (...faults) => queue.push(...faults),
    get requests() {
      return requests;
    },
    get faulted() {
      return faulted;
    },
    log,
    async stop() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
