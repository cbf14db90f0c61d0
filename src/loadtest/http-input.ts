/**
 * What one HTTP request of a LoadTest may hold, checked before any runner starts: headers the runner can put on
 * the wire as written, no credentials in a url, a body only with a method that sends one, and a duration and a
 * per-request timeout greater than 0. The CRD (crds/loadtest.yaml) holds the same rules in CEL with these messages
 * word for word; the runner would refuse the same headers, urls and zero durations (src/runner/plan.ts), but only
 * once its pod runs, which fails the run late and with the runner's words.
 */

/** An HTTP field name: a token (RFC 9110, 5.1). The runner's expression, and the CRD's. */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value the runner sends: tab, printable ASCII and Latin-1; no CR, LF, NUL or other control character. */
export const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * The longest header value, characters: 8192 in test.headers (most servers refuse a longer header line), 3072 in a
 * mix request's own headers (16 requests of 64 headers: what the CRD's CEL cost budget allows for their check).
 */
export const MAX_TEST_HEADER_VALUE = 8192;
export const MAX_REQUEST_HEADER_VALUE = 3072;
/** Framing headers the runner computes from the body (lower case). */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding']);
/** An http(s) URL whose authority holds userinfo ("user:password@"). Same expression as the CRD's. */
const URL_WITH_CREDENTIALS = /^https?:\/\/[^/?#]*@/;
/** Methods that send no body: GET (the default) and HEAD. */
const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD']);
/** A duration of nothing but zeros ("0s", "0m0.0s"). Same expression as the CRD's. */
const ZERO_DURATION = /^(0+(\.0+)?(ms|s|m|h))+$/;

/** The CRD's messages, word for word (crds/loadtest.yaml). */
export const HTTP_INPUT_MESSAGES = {
  headerName: 'header names must be HTTP tokens: letters, digits and !#$%&\'*+-.^_`|~ (no spaces, no ":")',
  headerValue:
    'header values must be printable Latin-1 text: no CR, LF or other control characters (they would split the request)',
  headerTwice: 'header names are case-insensitive: set each header once (not both "X-Token" and "x-token")',
  framingHeader: 'Content-Length and Transfer-Encoding are set by the runner from the body: leave them out of headers',
  urlCredentials:
    'a url may not hold credentials (user:password@): send them in a header, from a Secret with test.headersFrom',
  testBody:
    'test.body needs a method that sends one: set test.method to POST, PUT, PATCH or DELETE (GET, the default, and HEAD send no body)',
  requestBody:
    'a request with a body needs a method that sends one: set its method to POST, PUT, PATCH or DELETE (GET, the default, and HEAD send no body)',
  durationZero: 'test.duration must be greater than 0',
  timeoutZero: 'test.timeout must be greater than 0',
} as const;

/** One message per problem of a headers map, naming the headers at fault; empty when the runner can send them. */
export function headersProblems(headers: Record<string, string>, maxValueLength: number): string[] {
  const problems: string[] = [];
  const names = Object.keys(headers);
  const long = names.filter((name) => headers[name]!.length > maxValueLength);
  if (long.length > 0) problems.push(`a header value is at most ${maxValueLength} characters: ${quoted(long)}`);
  const badNames = names.filter((name) => !HEADER_NAME_PATTERN.test(name));
  if (badNames.length > 0) problems.push(`${HTTP_INPUT_MESSAGES.headerName}: ${quoted(badNames)}`);
  const badValues = names.filter((name) => !HEADER_VALUE_PATTERN.test(headers[name]!));
  if (badValues.length > 0) problems.push(`${HTTP_INPUT_MESSAGES.headerValue}: ${quoted(badValues)}`);
  const byLowerCase = new Map<string, string[]>();
  for (const name of names) byLowerCase.set(name.toLowerCase(), [...(byLowerCase.get(name.toLowerCase()) ?? []), name]);
  for (const same of byLowerCase.values()) {
    if (same.length > 1) problems.push(`${HTTP_INPUT_MESSAGES.headerTwice}: ${quoted(same)}`);
  }
  const framing = names.filter((name) => FRAMING_HEADERS.has(name.toLowerCase()));
  if (framing.length > 0) problems.push(`${HTTP_INPUT_MESSAGES.framingHeader}: ${quoted(framing)}`);
  return problems;
}

export function urlHasCredentials(url: string): boolean {
  return URL_WITH_CREDENTIALS.test(url);
}

/** Whether a request of `method` (GET when unset) with `body` sends a body no server is bound to read. */
export function bodyWithoutMethod(method: string | undefined, body: string | undefined): boolean {
  return body !== undefined && METHODS_WITHOUT_BODY.has(method ?? 'GET');
}

export function isZeroDuration(text: string): boolean {
  return ZERO_DURATION.test(text);
}

const quoted = (names: string[]) => names.map((name) => JSON.stringify(name)).join(' and ');
