import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { component, contentDigest, contentDigestMatches, readSignature, signatureBase, signMessage, type RequestParts } from '../../src/platform/http/message-signatures';
import { parseDictionary, serializeDictionary, StructuredFieldError } from '../../src/platform/http/structured-fields';

/** RFC 9421 Appendix B.1.4: the Ed25519 test key (public material of the RFC, for this test only). */
const TEST_KEY = createPrivateKey('-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n');
const TEST_PUBLIC = createPublicKey('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n-----END PUBLIC KEY-----\n');

/** RFC 9421 Appendix B.2: the test request (its body is `{"hello": "world"}`). */
const TEST_REQUEST: RequestParts = {
  method: 'POST',
  targetUri: 'https://example.com/foo?param=Value&Pet=dog',
  headers: {
    host: 'example.com',
    date: 'Tue, 20 Apr 2021 02:07:55 GMT',
    'content-type': 'application/json',
    'content-digest': 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:',
    'content-length': '18',
  },
};

const B26_COMPONENTS = ['date', '@method', '@path', '@authority', 'content-type', 'content-length'].map((n) => component(n));
const B26_PARAMS: Array<[string, number | string]> = [['created', 1618884473], ['keyid', 'test-key-ed25519']];

describe('HTTP Message Signatures (RFC 9421)', () => {
  it('builds the signature base of Appendix B.2.6 byte for byte', () => {
    expect(signatureBase(B26_COMPONENTS, B26_PARAMS, TEST_REQUEST)).toBe(
      [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ].join('\n'),
    );
  });

  it("reproduces Appendix B.2.6's Ed25519 signature (Ed25519 is deterministic) and its Signature-Input", () => {
    const out = signMessage({ label: 'sig-b26', components: B26_COMPONENTS, params: B26_PARAMS, sign: (b) => sign(null, b, TEST_KEY) }, TEST_REQUEST);
    expect(out.signatureInput).toBe('sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"');
    expect(out.signature).toBe('sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:');
  });

  it('reads the RFC signature back from its fields and it verifies; a changed header does not', () => {
    const fields = {
      'signature-input': 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
    };
    const got = readSignature('sig-b26', { ...TEST_REQUEST, headers: { ...TEST_REQUEST.headers, ...fields } });
    expect(verify(null, got.base, TEST_PUBLIC, got.signature)).toBe(true);
    const altered = readSignature('sig-b26', { ...TEST_REQUEST, headers: { ...TEST_REQUEST.headers, ...fields, 'content-length': '19' } });
    expect(verify(null, altered.base, TEST_PUBLIC, altered.signature)).toBe(false);
  });

  it('binds a response to its request with "signature";key=…;req (§2.4) and @status', () => {
    const req = { ...TEST_REQUEST, headers: { ...TEST_REQUEST.headers, signature: 'sig1=:AAAA:, other=:BBBB:' } };
    const base = signatureBase(
      [component('@status'), component('@method', [['req', true]]), component('signature', [['key', 'sig1'], ['req', true]])],
      [['created', 1]],
      { status: 200, headers: {} },
      req,
    );
    expect(base).toBe('"@status": 200\n"@method";req: POST\n"signature";key="sig1";req: :AAAA:\n"@signature-params": ("@status" "@method";req "signature";key="sig1";req);created=1');
  });

  it('refuses a covered component the message does not carry', () => {
    expect(() => signatureBase([component('x-missing')], [], TEST_REQUEST)).toThrow(/absent/);
  });
});

describe('Content-Digest (RFC 9530)', () => {
  const body = Buffer.from('{"hello": "world"}');

  it("matches the RFC's sha-512 example and its own sha-256 digest; refuses altered bodies and unknown-only algorithms", () => {
    expect(contentDigestMatches(TEST_REQUEST.headers['content-digest'] as string, body)).toBe(true);
    expect(contentDigest(body)).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
    expect(contentDigestMatches(contentDigest(body), body)).toBe(true);
    expect(contentDigestMatches(contentDigest(body), Buffer.from('{"hello": "World"}'))).toBe(false);
    expect(contentDigestMatches('md5=:AAAA:', body)).toBe(false);
    expect(contentDigestMatches('sha-256=garbage', body)).toBe(false);
    expect(contentDigestMatches(undefined, body)).toBe(false);
  });
});

describe('structured field dictionaries (RFC 8941)', () => {
  it('parses and re-serialises inner lists with parameters, byte sequences, tokens and booleans', () => {
    const text = 'a=("x" "y";req);created=1;keyid="k", b=:AAEC:, c, d=tok;p=?0';
    expect(serializeDictionary(parseDictionary(text))).toBe(text);
  });

  it('fails the whole field on a syntax error', () => {
    for (const bad of ['a=("x"', 'a=:AAE:', 'a=1,', 'A=1', 'a="\u00e9"', 'a=("x""y")']) expect(() => parseDictionary(bad)).toThrow(StructuredFieldError);
  });
});
