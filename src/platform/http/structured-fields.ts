/**
 * The part of Structured Field Values for HTTP (RFC 8941) that HTTP Message Signatures (RFC 9421) and Content-Digest
 * (RFC 9530) use: Dictionaries whose members are Items or Inner Lists, with Parameters, and the canonical serialisation of
 * each. Parsing is strict (RFC 8941 §4.2: any error fails the whole field), so a verifier never guesses at what was signed.
 */
export type BareItem = number | string | boolean | Buffer | Token;
export type Params = Array<[string, BareItem]>;
export interface Item {
  value: BareItem;
  params: Params;
}
export interface InnerList {
  items: Item[];
  params: Params;
}
export type Member = Item | InnerList;

/** An sf-token (unquoted), kept apart from sf-string so that it serialises back the way it was sent. */
export class Token {
  constructor(readonly text: string) {}
}

export class StructuredFieldError extends Error {}

const KEY = /^[a-z*][a-z0-9_\-.*]*/;
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/;

export const isInnerList = (m: Member): m is InnerList => 'items' in m;

/** Parses a Dictionary field value (RFC 8941 §4.2.2). Duplicate keys: the last one wins, as the RFC says. */
export function parseDictionary(input: string): Map<string, Member> {
  const p = new Parser(input);
  const out = new Map<string, Member>();
  p.ows();
  if (p.done()) return out;
  for (;;) {
    const key = p.key();
    let member: Member;
    if (p.peek() === '=') {
      p.next();
      member = p.peek() === '(' ? p.innerList() : p.item();
    } else {
      member = { value: true, params: p.params() };
    }
    out.set(key, member);
    p.ows();
    if (p.done()) return out;
    p.expect(',');
    p.ows();
    if (p.done()) throw new StructuredFieldError('trailing comma in dictionary');
  }
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {
    // Field values are ASCII (RFC 8941 §4.2: parsers fail on anything else).
    if (/[^\x20-\x7e]/.test(s)) throw new StructuredFieldError('non-ASCII or control character in a structured field');
  }
  done() {
    return this.i >= this.s.length;
  }
  peek() {
    return this.s[this.i];
  }
  next() {
    return this.s[this.i++];
  }
  expect(c: string) {
    if (this.next() !== c) throw new StructuredFieldError(`expected "${c}" at ${this.i - 1}`);
  }
  ows() {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }
  sp() {
    while (this.peek() === ' ') this.i++;
  }
  private match(re: RegExp, what: string): string {
    const m = re.exec(this.s.slice(this.i));
    if (!m) throw new StructuredFieldError(`expected ${what} at ${this.i}`);
    this.i += m[0].length;
    return m[0];
  }
  key() {
    return this.match(KEY, 'a key');
  }
  params(): Params {
    const out: Params = [];
    while (this.peek() === ';') {
      this.next();
      this.sp();
      const k = this.key();
      let v: BareItem = true;
      if (this.peek() === '=') {
        this.next();
        v = this.bareItem();
      }
      const at = out.findIndex(([x]) => x === k);
      if (at >= 0) out[at] = [k, v];
      else out.push([k, v]);
    }
    return out;
  }
  item(): Item {
    const value = this.bareItem();
    return { value, params: this.params() };
  }
  innerList(): InnerList {
    this.expect('(');
    const items: Item[] = [];
    for (;;) {
      this.sp();
      if (this.peek() === ')') {
        this.next();
        return { items, params: this.params() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== ' ' && c !== ')') throw new StructuredFieldError(`expected space or ")" in inner list at ${this.i}`);
    }
  }
  bareItem(): BareItem {
    const c = this.peek();
    if (c === undefined) throw new StructuredFieldError('unexpected end of field');
    if (c === '"') return this.string();
    if (c === ':') return this.binary();
    if (c === '?') {
      this.next();
      const b = this.next();
      if (b !== '0' && b !== '1') throw new StructuredFieldError('bad boolean');
      return b === '1';
    }
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    return new Token(this.match(TOKEN, 'a token'));
  }
  string(): string {
    this.expect('"');
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === undefined) throw new StructuredFieldError('unterminated string');
      if (c === '"') return out;
      if (c === '\\') {
        const e = this.next();
        if (e !== '"' && e !== '\\') throw new StructuredFieldError('bad escape in string');
        out += e;
      } else out += c;
    }
  }
  binary(): Buffer {
    this.expect(':');
    const b64 = this.match(/^[A-Za-z0-9+/=]*/, 'base64');
    this.expect(':');
    if (b64.length % 4 !== 0) throw new StructuredFieldError('bad base64 length in byte sequence');
    return Buffer.from(b64, 'base64');
  }
  number(): number {
    const text = this.match(/^-?\d{1,15}(\.\d{1,3})?/, 'a number');
    const intPart = text.split('.')[0]!.replace('-', '');
    if (text.includes('.') && intPart.length > 12) throw new StructuredFieldError('decimal too long');
    return Number(text);
  }
}

const serializeString = (s: string) => {
  if (/[^\x20-\x7e]/.test(s)) throw new StructuredFieldError('sf-string must be printable ASCII');
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
};

export function serializeBareItem(v: BareItem): string {
  if (typeof v === 'string') return serializeString(v);
  if (typeof v === 'boolean') return v ? '?1' : '?0';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return String(Math.round(v * 1000) / 1000);
    return String(v);
  }
  if (Buffer.isBuffer(v)) return `:${v.toString('base64')}:`;
  return v.text;
}

export function serializeParams(params: Params): string {
  return params.map(([k, v]) => (v === true ? `;${k}` : `;${k}=${serializeBareItem(v)}`)).join('');
}

export const serializeItem = (i: Item) => serializeBareItem(i.value) + serializeParams(i.params);

export const serializeInnerList = (l: InnerList) => `(${l.items.map(serializeItem).join(' ')})${serializeParams(l.params)}`;

export const serializeMember = (m: Member) => (isInnerList(m) ? serializeInnerList(m) : serializeItem(m));

export function serializeDictionary(d: Map<string, Member> | Array<[string, Member]>): string {
  return [...d].map(([k, m]) => (!isInnerList(m) && m.value === true ? `${k}${serializeParams(m.params)}` : `${k}=${serializeMember(m)}`)).join(', ');
}
