import { formatters, pickLocale } from '../../src/shared/locale';
import { atFloor, faceNumber, fmrBand, oneIn, qualityLevel, scalePosition, scoreScale } from '../../src/shared/scores';
import { bandLegend, oneInWords, qualityIssueWords, reviewStateWords } from '../../src/shared/words';

describe('scores people can read', () => {
  const scale = scoreScale({ screeningTargetFmr: 1e-3, verifyTargetFmr: 1e-5, floor: 1e-7 });
  const en = formatters('en', 'UTC');
  const es = formatters('es-MX', 'UTC');

  it('says a false-match rate as "about 1 in N" to two significant digits, in each language', () => {
    expect(oneIn(0.0014)).toBe(710);
    expect(oneIn(0.521)).toBe(2);
    expect(oneIn(1.7e-7)).toBe(5_900_000);
    expect(oneInWords(0.0014, en)).toBe('about 1 in 710');
    expect(oneInWords(1e-4, en)).toBe('about 1 in 10,000');
    expect(oneInWords(1.7e-7, en)).toBe('about 1 in 5.9 million');
    expect(oneInWords(1e-4, es)).toBe('aprox. 1 de cada 10,000');
    expect(oneInWords(1.7e-7, es)).toBe('aprox. 1 de cada 5.9 millones');
  });

  it('at the calibration floor says "or rarer": the true rate may be lower than the table resolves', () => {
    expect(atFloor(1e-7, scale)).toBe(true);
    expect(oneInWords(1e-7, en, scale)).toBe('1 in 10 million or rarer');
    expect(oneInWords(1e-7, es, scale)).toBe('1 de cada 10 millones o menos');
  });

  it("bands a rate by the deployment's two thresholds: strong at or below the stricter, possible up to the looser", () => {
    expect(fmrBand(1e-5, scale)).toBe('strong');
    expect(fmrBand(2e-5, scale)).toBe('possible');
    expect(fmrBand(1e-3, scale)).toBe('possible');
    expect(fmrBand(0.0014, scale)).toBe('weak');
    const equal = scoreScale({ screeningTargetFmr: 1e-4, verifyTargetFmr: 1e-4 });
    expect([fmrBand(1e-4, equal), fmrBand(1.1e-4, equal)]).toEqual(['strong', 'weak']);
    expect(bandLegend(equal, en)).not.toContain('possible');
    expect(bandLegend(scale, es)).toContain('posible: hasta 1 de cada 1,000');
  });

  it('places rates on a logarithmic scale from chance (0) to very rare (1)', () => {
    expect(scalePosition(1, scale)).toBe(0);
    expect(scalePosition(1e-4, scale)).toBeCloseTo(0.5);
    expect(scalePosition(1e-12, scale)).toBe(1);
  });

  it('numbers faces from 1, reads quality in three levels and codes in words', () => {
    expect(faceNumber(0)).toBe(1);
    expect([qualityLevel(0.3), qualityLevel(0.6), qualityLevel(0.9)]).toEqual(['poor', 'usable', 'good']);
    expect(qualityIssueWords('BLUR', 'es-MX')).toBe('el rostro está desenfocado');
    expect(reviewStateWords('disputed', 'es-MX')).toMatch(/^en discrepancia/);
    expect(reviewStateWords('SOMETHING_NEW')).toBe('something new');
  });

  it('picks Spanish for any Spanish tag and English otherwise', () => {
    expect(pickLocale(['es-ES', 'en'])).toBe('es-MX');
    expect(pickLocale(['fr', 'en-GB'])).toBe('en');
    expect(pickLocale([])).toBe('en');
  });
});
