import { createHmac } from 'node:crypto';
import { MIN_NEEDLE, namesSubject, REDACTED, redactJson, redactText } from '../../src/modules/oversight/redaction';
import { textHmac } from '../../src/modules/audit/audit.model';

describe('erasure redaction rule', () => {
  const names = namesSubject(['Alex Example', 'EXT-77', null]);

  it('finds the name or reference whatever the case, spacing or compatibility form', () => {
    expect(names('fraud check on ALEX   example')).toBe(true);
    expect(names('case ext-77/2026')).toBe(true);
    expect(names('ｅｘｔ-77')).toBe(true); // full-width letters fold under NFKC
    expect(names('fraud check on Alex')).toBe(false);
  });

  it('replaces a whole field that names the subject and leaves other text alone', () => {
    expect(redactText(names, 'is this Alex Example?')).toBe(REDACTED);
    expect(redactText(names, 'routine onboarding check')).toBe('routine onboarding check');
    expect(redactText(names, null)).toBeNull();
  });

  it('redacts strings anywhere in stored parameters, keeping keys, numbers and other strings', () => {
    expect(redactJson(names, { purpose: 'about Alex Example', topK: 5, watchlists: ['wl', 'EXT-77 list'], federation: { holder: 'Ana' } })).toEqual({
      purpose: REDACTED,
      topK: 5,
      watchlists: ['wl', REDACTED],
      federation: { holder: 'Ana' },
    });
  });

  it(`ignores names and references shorter than ${MIN_NEEDLE} characters (they would match ordinary words)`, () => {
    const short = namesSubject(['Al', ' x ']);
    expect(short('almost anything')).toBe(false);
  });

  it("keys the chain's HMAC with the event's salt: the same text under two salts gives unrelated values", () => {
    const a = 'aa'.repeat(32);
    const b = 'bb'.repeat(32);
    expect(textHmac(a, 'Alex Example')).toBe(createHmac('sha256', Buffer.from(a, 'hex')).update('Alex Example').digest('hex'));
    expect(textHmac(a, 'Alex Example')).not.toBe(textHmac(b, 'Alex Example'));
  });
});
