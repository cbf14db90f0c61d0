/**
 * Builds the bytes of the one request the fast path sends over and over. The runner repeats an identical
 * request, so it is serialised once and written as the same Buffer every time.
 */

/** Methods whose requests carry a body even when it is empty (servers may answer 411 without Content-Length). */
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
/** Framing headers the runner computes itself. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);

export interface RequestTemplate {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** The Host header value: host plus the port when it is not the scheme's default (WHATWG URL drops those). */
export function hostHeader(url: URL): string {
  return url.host;
}

export function requestTarget(url: URL): string {
  return `${url.pathname}${url.search}`;
}

/** Serialises an HTTP/1.1 request. Throws on framing headers or header values that would break the message. */
export function buildRequestBytes(template: RequestTemplate): Buffer {
  const body = template.body === undefined ? undefined : Buffer.from(template.body, 'utf8');
  const lines = [`${template.method} ${requestTarget(template.url)} HTTP/1.1`];
  const names = new Set(Object.keys(template.headers).map((name) => name.toLowerCase()));
  if (!names.has('host')) lines.push(`Host: ${hostHeader(template.url)}`);
  for (const [name, value] of Object.entries(template.headers)) {
    if (FRAMING_HEADERS.has(name.toLowerCase())) {
      throw new Error(`header "${name}" is set by the runner from the body`);
    }
    lines.push(`${name}: ${value}`);
  }
  if (body !== undefined || METHODS_WITH_BODY.has(template.method)) {
    lines.push(`Content-Length: ${body?.length ?? 0}`);
  }
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined ? head : Buffer.concat([head, body]);
}
