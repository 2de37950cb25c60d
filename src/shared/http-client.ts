import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher, request } from 'undici';

/**
 * Outgoing HTTP for provider APIs: undici with keep-alive and timeouts, bounded retries on 429 and
 * 5xx honouring Retry-After, and a cap on response size enforced while streaming.
 *
 * Only answers the server actually gave (429, 5xx) and refused connections are retried here: a
 * POST that timed out may have been processed, so retrying it is the durable outbox's decision.
 */

export type HttpRequest = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /**
   * A list of buffers is sent one after the other, without joining them; a file is streamed from
   * disk, opened afresh for each attempt (set content-length for both).
   */
  body?: string | Buffer | readonly Buffer[] | FormData | FileBody;
  /** Whole request deadline; defaults to the client's. */
  timeoutMs?: number;
  /** Response bodies larger than this are aborted with HttpError `too_large`. */
  maxResponseBytes?: number;
  /**
   * Called once the response headers are in, before the body is read, with the status and the
   * declared length (null when not declared): where a media transfer makes sure its memory budget
   * covers it.
   */
  beforeBody?(status: number, contentLength: number | null): Promise<void>;
  /** Overrides the client's retry count for this request (0 for paced campaign sends). */
  retries?: number;
};

/** A file on disk as a request body: read while it is sent, never held in memory whole. */
export type FileBody = { readonly file: string };
const isFileBody = (body: HttpRequest['body']): body is FileBody =>
  typeof body === 'object' && body !== null && 'file' in body && typeof body.file === 'string';

export type HttpResponse = {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Milliseconds the server asked us to wait (Retry-After), when it said. */
  retryAfterMs: number | null;
};

export type HttpErrorKind = 'timeout' | 'network' | 'too_large';

export class HttpError extends Error {
  readonly kind: HttpErrorKind;
  constructor(kind: HttpErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
    this.kind = kind;
  }
}

export interface HttpClient {
  /** Resolves with any HTTP status (after retries); rejects only with HttpError. */
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export type HttpClientOptions = {
  timeoutMs?: number;
  retries?: number;
  /** Longest single wait between attempts; a longer Retry-After is returned to the caller instead. */
  maxRetryDelayMs?: number;
  baseRetryDelayMs?: number;
  dispatcher?: Dispatcher;
};

export function parseRetryAfter(value: string | undefined, nowMs = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = options.retries ?? 2;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5_000;
  const baseRetryDelayMs = options.baseRetryDelayMs ?? 250;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 64, connectTimeout: 5_000 });

  async function once(req: HttpRequest): Promise<HttpResponse> {
    const deadline = req.timeoutMs ?? timeoutMs;
    const limit = req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const signal = AbortSignal.timeout(deadline);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(req.url, {
        method: req.method,
        headers: req.headers ?? {},
        body: isFileBody(req.body)
          ? createReadStream(req.body.file)
          : ((req.body as Dispatcher.RequestOptions['body']) ?? null),
        dispatcher,
        signal,
        headersTimeout: deadline,
        bodyTimeout: deadline,
      });
    } catch (error) {
      if (signal.aborted)
        throw new HttpError('timeout', `${req.method} ${redactUrl(req.url)} timed out after ${deadline} ms`);
      throw new HttpError('network', `${req.method} ${redactUrl(req.url)} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const header = headers['content-length'];
    const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : null;
    if (declared !== null && declared > limit) {
      response.body.destroy();
      throw new HttpError('too_large', `response of ${declared} bytes exceeds the ${limit}-byte limit`);
    }
    try {
      await req.beforeBody?.(response.statusCode, declared);
    } catch (error) {
      response.body.destroy();
      throw error;
    }
    // A declared length is read straight into one buffer of that size: a large file is never held
    // twice (its chunks and then their concatenation).
    const whole = declared !== null && declared > 0 ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        if (size + buffer.length > limit || (whole && size + buffer.length > whole.length)) {
          response.body.destroy();
          throw new HttpError('too_large', `response exceeds the ${whole ? whole.length : limit}-byte limit`);
        }
        if (whole) buffer.copy(whole, size);
        else chunks.push(buffer);
        size += buffer.length;
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (signal.aborted)
        throw new HttpError('timeout', `${req.method} ${redactUrl(req.url)} timed out reading the body`);
      throw new HttpError('network', `reading ${redactUrl(req.url)} failed: ${errorMessage(error)}`, { cause: error });
    }
    return {
      status: response.statusCode,
      headers,
      body: whole ? whole.subarray(0, size) : Buffer.concat(chunks, size),
      retryAfterMs: parseRetryAfter(headers['retry-after']),
    };
  }

  return {
    async request(req) {
      for (let attempt = 0; ; attempt++) {
        let result: HttpResponse | HttpError;
        try {
          result = await once(req);
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          result = error;
        }
        const retryable =
          result instanceof HttpError
            ? result.kind === 'network' && isRefusedConnection(result)
            : result.status === 429 || result.status >= 500;
        if (!retryable || attempt >= (req.retries ?? retries)) {
          if (result instanceof HttpError) throw result;
          return result;
        }
        const asked = result instanceof HttpError ? null : result.retryAfterMs;
        if (asked !== null && asked > maxRetryDelayMs) {
          // Waiting that long belongs to the durable queue, not to this request.
          if (result instanceof HttpError) throw result;
          return result;
        }
        const backoff = baseRetryDelayMs * 2 ** attempt;
        await sleep(asked ?? Math.min(maxRetryDelayMs, backoff + Math.random() * backoff));
      }
    },
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function isRefusedConnection(error: HttpError): boolean {
  const cause = error.cause as { code?: string } | undefined;
  // A refused connection never reached the server, so even a POST is safe to repeat.
  return cause?.code === 'ECONNREFUSED';
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Query strings can carry tokens; logs and errors only ever show origin and path. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
