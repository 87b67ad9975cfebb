import { connect } from 'node:net';

/**
 * One HTTP/1.1 request written byte for byte on a fresh TCP socket. node:http and fetch refuse
 * to send what abuse tests need (control characters or raw UTF-8 in header values, a
 * content-length that lies, a body with neither content-length nor chunking); this sends
 * exactly what it is given and reads back the first response.
 */
export interface RawRequest {
  method: string;
  /** the request target exactly as written on the request line */
  path: string;
  /** header lines in order; a string value is written as UTF-8 bytes, a Buffer as is */
  headers?: [string, string | Buffer][];
  /** written after the header block as is (no content-length is added: set it, or use `chunks`) */
  body?: Buffer | string;
  /** sent with `transfer-encoding: chunked`, one chunk each */
  chunks?: (Buffer | string)[];
  /** half-close the socket after writing (default false: Node's server drops a pending response once the client half-closes) */
  endAfterWrite?: boolean;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** parsed JSON when the body is JSON, else the text, else undefined when empty */
  body: any;
  text: string;
}

/** Sends one request; the connection is `close`, so the server ends it after its response. */
export function rawHttp(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const lines: Buffer[] = [Buffer.from(`${r.method} ${r.path} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: close\r\n`, 'latin1')];
  for (const [name, value] of r.headers ?? []) lines.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'utf8') : value, Buffer.from('\r\n'));
  let payload: Buffer = Buffer.alloc(0);
  if (r.chunks) {
    lines.push(Buffer.from('transfer-encoding: chunked\r\n'));
    const parts: Buffer[] = [];
    for (const c of r.chunks) {
      const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      if (b.length) parts.push(Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    payload = Buffer.concat(parts);
  } else if (r.body !== undefined) {
    payload = typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : r.body;
  }
  lines.push(Buffer.from('\r\n'));
  const bytes = Buffer.concat([...lines, payload]);

  return new Promise((resolve, reject) => {
    const sock = connect({ host: url.hostname, port: Number(url.port) });
    const got: Buffer[] = [];
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err && !got.length) return reject(err);
      try {
        resolve(parseResponse(Buffer.concat(got)));
      } catch (e) {
        reject(err ?? e);
      }
    };
    sock.setTimeout(r.timeoutMs ?? 15_000, () => finish(new Error(`no response within ${r.timeoutMs ?? 15_000} ms to ${r.method} ${r.path}`)));
    sock.on('data', (d: Buffer) => {
      got.push(d);
      // Done as soon as one whole response is in (the server may keep reading what we sent).
      if (completeResponseLength(Buffer.concat(got)) !== undefined) finish();
    });
    sock.on('end', () => finish());
    sock.on('error', (e) => finish(e));
    sock.write(bytes, () => {
      if (r.endAfterWrite) sock.end();
    });
  });
}

function splitHead(buf: Buffer): { head: string; rest: Buffer } | undefined {
  const i = buf.indexOf('\r\n\r\n');
  if (i < 0) return undefined;
  return { head: buf.subarray(0, i).toString('latin1'), rest: buf.subarray(i + 4) };
}

function headersOf(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine, ...hl] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const l of hl) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: Number(m[1]), headers };
}

/** Byte length of the body once it is complete; undefined while more is needed. */
function completeResponseLength(buf: Buffer): number | undefined {
  const s = splitHead(buf);
  if (!s) return undefined;
  const { headers } = headersOf(s.head);
  if (headers['content-length'] !== undefined) return s.rest.length >= Number(headers['content-length']) ? Number(headers['content-length']) : undefined;
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return dechunk(s.rest)?.length;
  return undefined; // read to the end of the connection
}

function dechunk(buf: Buffer): Buffer | undefined {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(out);
    if (buf.length < eol + 2 + size + 2) return undefined;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function parseResponse(buf: Buffer): RawResponse {
  const s = splitHead(buf);
  if (!s) throw new Error(`incomplete response: ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`);
  const { status, headers } = headersOf(s.head);
  let bodyBytes = s.rest;
  if (headers['content-length'] !== undefined) bodyBytes = s.rest.subarray(0, Number(headers['content-length']));
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) bodyBytes = dechunk(s.rest) ?? s.rest;
  const text = bodyBytes.toString('utf8');
  let body: unknown = text || undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  return { status, headers, body, text };
}
