import assert from 'node:assert/strict';
import { MAX_HEAD_BYTES, ResponseParser, type EndOfInput } from '../../src/runner/http1/response-parser.js';

interface Parsed {
  responses: { status: number; closeAfter: boolean }[];
  errors: string[];
  end?: EndOfInput;
}

/**
 * Feeds `pieces` through one reused scratch buffer that is overwritten after every piece, as socket reads
 * are: a parser that kept a reference to input bytes would see garbage.
 */
function parse(pieces: Buffer[], options: { head?: boolean; finish?: boolean } = {}): Parsed {
  const parsed: Parsed = { responses: [], errors: [] };
  const parser = new ResponseParser(
    {
      onResponse: (status, closeAfter) => {
        parsed.responses.push({ status, closeAfter });
        return true;
      },
      onProtocolError: (reason) => parsed.errors.push(reason),
    },
    options.head ?? false,
  );
  const scratch = Buffer.alloc(Math.max(64 * 1024, ...pieces.map((piece) => piece.length)));
  for (const piece of pieces) {
    piece.copy(scratch);
    parser.execute(scratch, 0, piece.length);
    scratch.fill(0x41);
  }
  if (options.finish === true) parsed.end = parser.finish();
  return parsed;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Every way of cutting `message` in two, plus one byte at a time. */
function splits(message: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let cut = 1; cut < message.length; cut++) ways.push([message.subarray(0, cut), message.subarray(cut)]);
  ways.push([...message].map((byte) => Buffer.from([byte])));
  return ways;
}

const OK_WITH_LENGTH = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';
const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n';
const CHUNKED_WITH_TRAILERS =
  'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5;name=value\r\nhello\r\n' +
  'A\r\n0123456789\r\n' +
  '0\r\nX-Checksum: abc\r\nX-Other: def\r\n\r\n';

describe('ResponseParser', () => {
  it('frames a Content-Length response cut at any byte, and the response after it', () => {
    for (const pieces of splits(bytes(OK_WITH_LENGTH + NOT_FOUND))) {
      const parsed = parse(pieces);
      assert.deepEqual(parsed.errors, []);
      assert.deepEqual(
        parsed.responses.map((response) => response.status),
        [200, 404],
      );
    }
  });

  it('frames a chunked body with extensions and trailers cut at any byte, and the response after it', () => {
    for (const pieces of splits(bytes(CHUNKED_WITH_TRAILERS + NOT_FOUND))) {
      const parsed = parse(pieces);
      assert.deepEqual(parsed.errors, []);
      assert.deepEqual(
        parsed.responses.map((response) => response.status),
        [201, 404],
      );
    }
  });

  it('parses several pipelined responses that arrive in one read', () => {
    const parsed = parse([bytes(OK_WITH_LENGTH + CHUNKED_WITH_TRAILERS + NOT_FOUND + OK_WITH_LENGTH)]);
    assert.deepEqual(
      parsed.responses.map((response) => response.status),
      [200, 201, 404, 200],
    );
  });

  it('expects no body after 204 and 304, even with a Content-Length', () => {
    const parsed = parse([
      bytes('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n' + NOT_FOUND),
    ]);
    assert.deepEqual(
      parsed.responses.map((response) => response.status),
      [204, 304, 404],
    );
  });

  it('expects no body in responses to HEAD requests', () => {
    const parsed = parse([bytes('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + NOT_FOUND)], { head: true });
    assert.deepEqual(
      parsed.responses.map((response) => response.status),
      [200, 404],
    );
  });

  it('skips 1xx interim responses and reports only the final one', () => {
    const interim = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n';
    for (const pieces of splits(bytes(interim + OK_WITH_LENGTH))) {
      assert.deepEqual(
        parse(pieces).responses.map((response) => response.status),
        [200],
      );
    }
  });

  it('reports Connection: close and ignores whatever follows the response', () => {
    const parsed = parse([bytes('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nokGARBAGE')]);
    assert.deepEqual(parsed.responses, [{ status: 200, closeAfter: true }]);
    assert.deepEqual(parsed.errors, []);
  });

  it('finds close among several Connection options', () => {
    const parsed = parse([bytes('HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n')]);
    assert.deepEqual(parsed.responses, [{ status: 200, closeAfter: true }]);
  });

  it('closes after HTTP/1.0 responses unless they say keep-alive', () => {
    assert.deepEqual(parse([bytes('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')]).responses, [
      { status: 200, closeAfter: true },
    ]);
    assert.deepEqual(
      parse([bytes('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')]).responses,
      [{ status: 200, closeAfter: false }],
    );
  });

  it('completes a body without length when the server closes the connection', () => {
    const parsed = parse([bytes('HTTP/1.1 200 OK\r\n\r\nsome'), bytes(' more body')], { finish: true });
    assert.deepEqual(parsed.responses, [{ status: 200, closeAfter: true }]);
    assert.equal(parsed.end, 'response-complete');
  });

  it('treats a non-chunked Transfer-Encoding as delimited by the close, and chunked as chunked', () => {
    const gzipOnly = parse([bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz')], { finish: true });
    assert.equal(gzipOnly.end, 'response-complete');
    const gzipChunked = parse([
      bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 99\r\n\r\n3\r\nxyz\r\n0\r\n\r\n'),
    ]);
    assert.equal(gzipChunked.responses.length, 1);
  });

  it('accepts bare LF line endings', () => {
    const parsed = parse([
      bytes('HTTP/1.1 200 OK\nContent-Length: 2\n\nok' + 'HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n'),
    ]);
    assert.equal(parsed.responses.length, 2);
  });

  it('reports a response cut short by the close as truncated', () => {
    const parsed = parse([bytes('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf')], { finish: true });
    assert.deepEqual(parsed.responses, []);
    assert.equal(parsed.end, 'response-truncated');
    assert.equal(parse([bytes('HTTP/1.1 200 O')], { finish: true }).end, 'response-truncated');
    assert.equal(parse([bytes(NOT_FOUND)], { finish: true }).end, 'between-responses');
  });

  it('skips a large body without buffering it', () => {
    const size = 10 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 0x62);
    const pieces = [bytes(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`)];
    for (let sent = 0; sent < size; sent += piece.length) pieces.push(piece);
    pieces.push(bytes(NOT_FOUND));
    assert.deepEqual(
      parse(pieces).responses.map((response) => response.status),
      [200, 404],
    );
  });

  for (const [name, input] of [
    ['a malformed status line', 'HTTP/2 200 OK\r\n\r\n'],
    ['a non-numeric status', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['an invalid Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n'],
    ['conflicting Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'],
    ['an invalid chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['chunk data longer than announced', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n'],
  ] as const) {
    it(`reports ${name} as a protocol error`, () => {
      const parsed = parse([bytes(input)]);
      assert.equal(parsed.errors.length, 1);
      assert.deepEqual(parsed.responses, []);
    });
  }

  it('ignores header lines it does not need, even malformed ones', () => {
    const parsed = parse([
      bytes('HTTP/1.1 200 OK\r\nno colon here\r\nX-Content-Length: 9\r\nContent-Length: 0\r\n\r\n'),
    ]);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.responses, [{ status: 200, closeAfter: false }]);
  });

  it('rejects a response head larger than the limit instead of buffering it', () => {
    const pieces = [bytes('HTTP/1.1 200 OK\r\n')];
    const header = bytes(`X-Filler: ${'a'.repeat(1000)}\r\n`);
    for (let size = 0; size <= MAX_HEAD_BYTES; size += header.length) pieces.push(header);
    const parsed = parse(pieces);
    assert.deepEqual(parsed.errors, ['response head too large']);
  });
});
