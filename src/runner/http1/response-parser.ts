/**
 * An incremental HTTP/1.1 response parser for the runner's hot path. It frames responses (RFC 9112 §6.3) and
 * reads the status, but keeps no header values or body bytes: bodies are skipped as they arrive, so memory use
 * does not grow with response size. Input may be split at any byte and may hold several responses (pipelining).
 *
 * Only an incomplete response head is ever copied (rare: heads are small); everything else is parsed straight
 * out of the caller's (reused) read buffer.
 */

export interface ResponseListener {
  /**
   * A final (non-1xx) response is complete. `closeAfter`: the connection cannot carry another response
   * (`Connection: close`, HTTP/1.0, a body delimited by the close, or a protocol switch).
   * Return false to stop parsing the current input (for example because the connection was dropped).
   */
  onResponse(status: number, closeAfter: boolean): boolean;
  /** The input is not valid HTTP/1.1; the connection must be dropped. */
  onProtocolError(reason: string): void;
}

/** What `finish()` found when the server closed the connection. */
export type EndOfInput = 'between-responses' | 'response-complete' | 'response-truncated';

/** Responses whose head does not fit in this many bytes are rejected. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Chunk sizes longer than this many hex digits cannot be represented exactly. */
const MAX_CHUNK_SIZE_DIGITS = 13;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const SEMICOLON = 59;
const COMMA = 44;

const HEAD = 0;
const FIXED_BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_EXTENSION = 3;
const CHUNK_SIZE_LF = 4;
const CHUNK_DATA = 5;
const CHUNK_DATA_CR = 6;
const CHUNK_DATA_LF = 7;
const TRAILER_LINE_START = 8;
const TRAILER_LINE = 9;
const TRAILER_END_LF = 10;
const UNTIL_CLOSE = 11;
/** After a response that ends the connection, or after a protocol error: further input is ignored. */
const STOPPED = 12;

const HEAD_INCOMPLETE = -1;
const HEAD_INVALID = -2;

const HTTP_1_PREFIX = Buffer.from('HTTP/1.', 'latin1');
const CONTENT_LENGTH = Buffer.from('content-length', 'latin1');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding', 'latin1');
const CONNECTION = Buffer.from('connection', 'latin1');
const CHUNKED = Buffer.from('chunked', 'latin1');
const KEEP_ALIVE = Buffer.from('keep-alive', 'latin1');
const CLOSE = Buffer.from('close', 'latin1');

/** Compares buf[start, end) with a lower-case ASCII constant, ignoring case. */
function equalsIgnoreCase(buf: Buffer, start: number, end: number, lowerCase: Buffer): boolean {
  if (end - start !== lowerCase.length) return false;
  for (let i = 0; i < lowerCase.length; i++) {
    // Setting bit 0x20 lower-cases letters; lowerCase holds only letters and "-", which it leaves alone.
    if ((buf[start + i]! | 0x20) !== lowerCase[i]) return false;
  }
  return true;
}

function skipWhitespace(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  return i;
}

function trimEnd(buf: Buffer, start: number, end: number): number {
  let i = end;
  while (i > start && (buf[i - 1] === SP || buf[i - 1] === HTAB)) i--;
  return i;
}

/** Whether the last entry of a comma-separated list is `token` ("gzip, chunked" ends with "chunked"). */
function lastTokenIs(buf: Buffer, start: number, end: number, token: Buffer): boolean {
  let tokenStart = start;
  for (let i = end - 1; i >= start; i--) {
    if (buf[i] === COMMA) {
      tokenStart = i + 1;
      break;
    }
  }
  return equalsIgnoreCase(buf, skipWhitespace(buf, tokenStart, end), end, token);
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

export class ResponseParser {
  private state = HEAD;
  /** Bytes of a response head that arrived without its end. */
  private pendingHead: Buffer | null = null;
  /** Bytes still to skip in a Content-Length body or the current chunk. */
  private remaining = 0;
  private chunkSizeDigits = 0;

  // What the current response head said.
  private status = 0;
  private http10 = false;
  private closeToken = false;
  private keepAliveToken = false;
  private contentLength = -1;
  private hasTransferEncoding = false;
  private chunked = false;
  private protocolError = '';

  /** @param bodilessResponses every request on this connection is HEAD, so no response has a body. */
  constructor(
    private readonly listener: ResponseListener,
    private readonly bodilessResponses = false,
  ) {}

  /** True while part of a response has been received but not all of it. */
  get midResponse(): boolean {
    return this.state !== HEAD || this.pendingHead !== null;
  }

  /** Forgets everything, for a new connection. */
  reset(): void {
    this.state = HEAD;
    this.pendingHead = null;
    this.remaining = 0;
  }

  /** Parses buf[start, end). Calls the listener for each complete response. */
  execute(buf: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end) {
      switch (this.state) {
        case HEAD:
          pos = this.consumeHead(buf, pos, end);
          if (pos < 0) return;
          break;
        case FIXED_BODY: {
          const available = end - pos;
          if (available < this.remaining) {
            this.remaining -= available;
            return;
          }
          pos += this.remaining;
          this.remaining = 0;
          if (!this.complete()) return;
          break;
        }
        case CHUNK_SIZE: {
          const byte = buf[pos++]!;
          const digit = hexValue(byte);
          if (digit >= 0) {
            if (++this.chunkSizeDigits > MAX_CHUNK_SIZE_DIGITS) return this.fail('chunk size too large');
            this.remaining = this.remaining * 16 + digit;
          } else if (this.chunkSizeDigits === 0) {
            return this.fail('invalid chunk size');
          } else if (byte === CR) {
            this.state = CHUNK_SIZE_LF;
          } else if (byte === LF) {
            this.endChunkSizeLine();
          } else if (byte === SEMICOLON || byte === SP || byte === HTAB) {
            this.state = CHUNK_EXTENSION;
          } else {
            return this.fail('invalid chunk size');
          }
          break;
        }
        case CHUNK_EXTENSION: {
          const lf = buf.indexOf(LF, pos);
          if (lf < 0 || lf >= end) return;
          pos = lf + 1;
          this.endChunkSizeLine();
          break;
        }
        case CHUNK_SIZE_LF:
          if (buf[pos++] !== LF) return this.fail('invalid chunk size line');
          this.endChunkSizeLine();
          break;
        case CHUNK_DATA: {
          const available = end - pos;
          if (available < this.remaining) {
            this.remaining -= available;
            return;
          }
          pos += this.remaining;
          this.remaining = 0;
          this.state = CHUNK_DATA_CR;
          break;
        }
        case CHUNK_DATA_CR: {
          const byte = buf[pos++];
          if (byte === CR) this.state = CHUNK_DATA_LF;
          else if (byte === LF) this.startChunk();
          else return this.fail('chunk data not followed by CRLF');
          break;
        }
        case CHUNK_DATA_LF:
          if (buf[pos++] !== LF) return this.fail('chunk data not followed by CRLF');
          this.startChunk();
          break;
        case TRAILER_LINE_START: {
          const byte = buf[pos++];
          if (byte === CR) this.state = TRAILER_END_LF;
          else if (byte === LF) {
            if (!this.complete()) return;
          } else this.state = TRAILER_LINE;
          break;
        }
        case TRAILER_LINE: {
          const lf = buf.indexOf(LF, pos);
          if (lf < 0 || lf >= end) return;
          pos = lf + 1;
          this.state = TRAILER_LINE_START;
          break;
        }
        case TRAILER_END_LF:
          if (buf[pos++] !== LF) return this.fail('invalid trailer section');
          if (!this.complete()) return;
          break;
        case UNTIL_CLOSE:
          return;
        default:
          return;
      }
    }
  }

  /**
   * The server closed the connection. Completes a response whose body is delimited by the close; reports
   * whether a response was cut short.
   */
  finish(): EndOfInput {
    if (this.state === UNTIL_CLOSE) {
      this.state = STOPPED;
      this.listener.onResponse(this.status, true);
      return 'response-complete';
    }
    const truncated = this.midResponse && this.state !== STOPPED;
    this.reset();
    return truncated ? 'response-truncated' : 'between-responses';
  }

  /** Returns the position after the head, or -1 when it needs more input or stopped. */
  private consumeHead(chunk: Buffer, pos: number, end: number): number {
    let buf = chunk;
    let from = pos;
    if (this.pendingHead !== null) {
      buf = Buffer.concat([this.pendingHead, chunk.subarray(pos, end)]);
      from = 0;
    }
    const to = buf === chunk ? end : buf.length;
    const headEnd = this.parseHead(buf, from, to);
    if (headEnd === HEAD_INVALID) {
      this.fail(this.protocolError);
      return -1;
    }
    if (headEnd === HEAD_INCOMPLETE) {
      if (to - from > MAX_HEAD_BYTES) {
        this.fail('response head too large');
        return -1;
      }
      // The read buffer is reused for the next read, so keep a copy.
      this.pendingHead = buf === chunk ? Buffer.from(chunk.subarray(pos, end)) : buf;
      return -1;
    }
    this.pendingHead = null;
    const next = end - (to - headEnd);
    return this.startBody() ? next : -1;
  }

  /** Decides how the body is delimited (RFC 9112 §6.3); returns false when parsing must stop. */
  private startBody(): boolean {
    const status = this.status;
    if (status >= 100 && status < 200 && status !== 101) {
      // Interim response (100 Continue, 103 Early Hints): the final response follows.
      this.state = HEAD;
      return true;
    }
    if (status === 101) this.closeToken = true;
    if (this.bodilessResponses || status === 204 || status === 304 || status < 200) return this.complete();
    if (this.hasTransferEncoding) {
      if (this.chunked) {
        this.startChunk();
        return true;
      }
      this.state = UNTIL_CLOSE;
      return true;
    }
    if (this.contentLength === 0) return this.complete();
    if (this.contentLength > 0) {
      this.remaining = this.contentLength;
      this.state = FIXED_BODY;
      return true;
    }
    this.state = UNTIL_CLOSE;
    return true;
  }

  private startChunk(): void {
    this.state = CHUNK_SIZE;
    this.remaining = 0;
    this.chunkSizeDigits = 0;
  }

  private endChunkSizeLine(): void {
    this.state = this.remaining === 0 ? TRAILER_LINE_START : CHUNK_DATA;
  }

  private complete(): boolean {
    const closeAfter = this.http10 ? !this.keepAliveToken : this.closeToken;
    this.state = closeAfter ? STOPPED : HEAD;
    return this.listener.onResponse(this.status, closeAfter) && !closeAfter;
  }

  private fail(reason: string): void {
    this.state = STOPPED;
    this.pendingHead = null;
    this.listener.onProtocolError(reason);
  }

  /**
   * Parses the status line and the header fields the framing depends on. Lines are found with the native
   * Buffer.indexOf (several times faster than a byte loop in JavaScript); a header line is one of the three
   * that matter only if its colon sits right after the name, as RFC 9112 §5.1 requires, so other lines are
   * skipped without looking at them. Lines without a colon are ignored (they cannot affect framing).
   */
  private parseHead(buf: Buffer, from: number, to: number): number {
    this.contentLength = -1;
    this.hasTransferEncoding = false;
    this.chunked = false;
    this.closeToken = false;
    this.keepAliveToken = false;
    let lineStart = from;
    for (;;) {
      // May look past `to` into stale bytes of a reused buffer; anything found there counts as not found.
      const lf = buf.indexOf(LF, lineStart);
      if (lf < 0 || lf >= to) return HEAD_INCOMPLETE;
      // Accept a bare LF as line end, as RFC 9112 §2.2 allows.
      const lineEnd = lf > lineStart && buf[lf - 1] === CR ? lf - 1 : lf;
      if (lineStart === from) {
        if (!this.parseStatusLine(buf, lineStart, lineEnd)) return HEAD_INVALID;
      } else if (lineEnd === lineStart) {
        return lf + 1;
      } else if (!this.parseHeaderLine(buf, lineStart, lineEnd)) {
        return HEAD_INVALID;
      }
      lineStart = lf + 1;
    }
  }

  /** "HTTP/1.1 200 OK" (the reason phrase may be empty or missing). */
  private parseStatusLine(buf: Buffer, start: number, end: number): boolean {
    let valid = end - start >= 12 && buf[start + 8] === SP && (end === start + 12 || buf[start + 12] === SP);
    for (let i = 0; valid && i < HTTP_1_PREFIX.length; i++) valid = buf[start + i] === HTTP_1_PREFIX[i];
    const minor = buf[start + 7]! - 48;
    let status = 0;
    for (let i = start + 9; valid && i < start + 12; i++) {
      const digit = buf[i]! - 48;
      valid = digit >= 0 && digit <= 9;
      status = status * 10 + digit;
    }
    if (!valid || minor < 0 || minor > 9) {
      this.protocolError = `invalid status line "${buf.toString('latin1', start, Math.min(end, start + 40))}"`;
      return false;
    }
    this.status = status;
    this.http10 = minor === 0;
    return true;
  }

  private parseHeaderLine(buf: Buffer, start: number, end: number): boolean {
    const length = end - start;
    if (length > CONNECTION.length && buf[start + CONNECTION.length] === COLON) {
      if (equalsIgnoreCase(buf, start, start + CONNECTION.length, CONNECTION)) {
        const valueStart = skipWhitespace(buf, start + CONNECTION.length + 1, end);
        this.readConnection(buf, valueStart, trimEnd(buf, valueStart, end));
      }
    } else if (length > CONTENT_LENGTH.length && buf[start + CONTENT_LENGTH.length] === COLON) {
      if (equalsIgnoreCase(buf, start, start + CONTENT_LENGTH.length, CONTENT_LENGTH)) {
        const valueStart = skipWhitespace(buf, start + CONTENT_LENGTH.length + 1, end);
        return this.readContentLength(buf, valueStart, trimEnd(buf, valueStart, end));
      }
    } else if (length > TRANSFER_ENCODING.length && buf[start + TRANSFER_ENCODING.length] === COLON) {
      if (equalsIgnoreCase(buf, start, start + TRANSFER_ENCODING.length, TRANSFER_ENCODING)) {
        this.hasTransferEncoding = true;
        const valueStart = skipWhitespace(buf, start + TRANSFER_ENCODING.length + 1, end);
        this.chunked = lastTokenIs(buf, valueStart, trimEnd(buf, valueStart, end), CHUNKED);
      }
    }
    return true;
  }

  private readContentLength(buf: Buffer, start: number, end: number): boolean {
    let length = 0;
    for (let i = start; i < end; i++) {
      const digit = buf[i]! - 48;
      if (digit < 0 || digit > 9 || i - start >= 15) {
        this.protocolError = 'invalid Content-Length';
        return false;
      }
      length = length * 10 + digit;
    }
    if (end === start || (this.contentLength >= 0 && this.contentLength !== length)) {
      this.protocolError = 'invalid Content-Length';
      return false;
    }
    this.contentLength = length;
    return true;
  }

  private readConnection(buf: Buffer, start: number, end: number): void {
    // Fast path for the two values servers send on almost every response.
    if (equalsIgnoreCase(buf, start, end, KEEP_ALIVE)) {
      this.keepAliveToken = true;
      return;
    }
    if (equalsIgnoreCase(buf, start, end, CLOSE)) {
      this.closeToken = true;
      return;
    }
    for (const token of buf.toString('latin1', start, end).toLowerCase().split(',')) {
      const option = token.trim();
      if (option === 'close') this.closeToken = true;
      else if (option === 'keep-alive') this.keepAliveToken = true;
    }
  }
}
