/**
 * Plain words for codes shown to people (case file, console), in each supported language. The codes themselves (API fields,
 * error codes, review states) never change; only what a person reads does.
 */
import type { Locale, Formatters } from './locale';
import { atFloor, oneIn, type FmrBand, type QualityLevel, type ScoreScale } from './scores';

type Words = Record<Locale, Record<string, string>>;

const QUALITY: Words = {
  en: {
    SMALL_FACE: 'the face is small in the image',
    BLUR: 'the face is blurred',
    EXTREME_POSE: 'the head is turned too far',
    LOW_DETECTION_SCORE: 'the detector was unsure this is a face',
    POOR_EXPOSURE: 'the face is too dark or too bright',
  },
  'es-MX': {
    SMALL_FACE: 'el rostro se ve pequeño en la imagen',
    BLUR: 'el rostro está desenfocado',
    EXTREME_POSE: 'la cabeza está demasiado girada',
    LOW_DETECTION_SCORE: 'el detector no tiene certeza de que sea un rostro',
    POOR_EXPOSURE: 'el rostro está demasiado oscuro o demasiado claro',
  },
};

const STATES: Words = {
  en: {
    pending: 'not reviewed yet',
    awaiting_second_confirmation: 'confirmed once, awaiting a second reviewer',
    confirmed: 'confirmed by two reviewers',
    rejected: 'rejected',
    disputed: 'disputed: reviewers disagree, a third reviewer or a supervisor decides',
    inconclusive: 'inconclusive',
    blind: 'hidden until you record your decision',
  },
  'es-MX': {
    pending: 'sin revisar',
    awaiting_second_confirmation: 'confirmado una vez; falta un segundo revisor',
    confirmed: 'confirmado por dos revisores',
    rejected: 'descartado',
    disputed: 'en discrepancia: los revisores no coinciden; resuelve un tercer revisor o un supervisor',
    inconclusive: 'no concluyente',
    blind: 'oculto hasta que usted registre su decisión',
  },
};

const DECISIONS: Words = {
  en: { confirmed: 'confirmed', rejected: 'rejected', inconclusive: 'inconclusive' },
  'es-MX': { confirmed: 'confirmado', rejected: 'descartado', inconclusive: 'no concluyente' },
};

const FEATURES: Words = {
  en: { faceShape: 'Face shape', hairline: 'Hairline', eyebrows: 'Eyebrows', eyes: 'Eyes', nose: 'Nose', ears: 'Ears', mouth: 'Mouth', chin: 'Chin', marks: 'Marks / scars' },
  'es-MX': {
    faceShape: 'Forma del rostro',
    hairline: 'Línea de implantación del cabello',
    eyebrows: 'Cejas',
    eyes: 'Ojos',
    nose: 'Nariz',
    ears: 'Orejas',
    mouth: 'Boca',
    chin: 'Mentón',
    marks: 'Señas particulares / cicatrices',
  },
};

const CHECKLIST_VALUES: Words = {
  en: { similar: 'similar', different: 'different', not_visible: 'not visible' },
  'es-MX': { similar: 'similar', different: 'diferente', not_visible: 'no visible' },
};

const CATEGORIES: Words = {
  en: { fraud: 'fraud', money_laundering: 'money laundering', sanctions: 'sanctions', other: 'other' },
  'es-MX': { fraud: 'fraude', money_laundering: 'lavado de dinero', sanctions: 'sanciones', other: 'otra' },
};

const MODES: Words = {
  en: { search: '1:N search', investigative: 'investigative', screening: 'screening', verify: '1:1 verification' },
  'es-MX': { search: 'búsqueda 1:N', investigative: 'investigación', screening: 'cotejo contra listas', verify: 'verificación 1:1' },
};

const REASONS: Words = {
  en: {
    CANDIDATES_ARE_LEADS_ONLY: 'candidates are leads only',
    LOW_PROBE_QUALITY: 'the probe photo is of low quality',
    AMBIGUOUS_TOP_CANDIDATES: 'the top candidates score almost alike',
    MULTIPLE_PROBE_FACES: 'the photo shows several faces',
    NEAR_MISS: 'just below the threshold',
  },
  'es-MX': {
    CANDIDATES_ARE_LEADS_ONLY: 'los candidatos son solo líneas de investigación',
    LOW_PROBE_QUALITY: 'la fotografía de consulta es de baja calidad',
    AMBIGUOUS_TOP_CANDIDATES: 'los primeros candidatos obtienen puntuaciones casi iguales',
    MULTIPLE_PROBE_FACES: 'la fotografía muestra varios rostros',
    NEAR_MISS: 'apenas por debajo del umbral',
  },
};

const ROLES: Words = {
  en: { searcher: 'searcher', reviewer: 'reviewer', enroller: 'enroller', auditor: 'auditor', admin: 'admin' },
  'es-MX': { searcher: 'consulta', reviewer: 'revisión', enroller: 'registro de sujetos', auditor: 'auditoría', admin: 'administración' },
};

const DELIVERY: Words = {
  en: { pending: 'pending', delivered: 'delivered', failed: 'failed' },
  'es-MX': { pending: 'pendiente', delivered: 'entregado', failed: 'fallido' },
};

const BANDS: Words = {
  en: { strong: 'strong', possible: 'possible', weak: 'weak' },
  'es-MX': { strong: 'fuerte', possible: 'posible', weak: 'débil' },
};

const QUALITY_LEVELS: Words = {
  en: { good: 'good', usable: 'usable', poor: 'poor' },
  'es-MX': { good: 'buena', usable: 'aceptable', poor: 'deficiente' },
};

const say = (w: Words, locale: Locale, code: string) => w[locale][code] ?? w.en[code] ?? code.toLowerCase().replace(/_/g, ' ');

export const qualityIssueWords = (code: string, locale: Locale = 'en') => say(QUALITY, locale, code);
export const reviewStateWords = (state: string, locale: Locale = 'en') => say(STATES, locale, state);
export const decisionWords = (d: string, locale: Locale = 'en') => say(DECISIONS, locale, d);
export const featureWords = (feature: string, locale: Locale = 'en') => say(FEATURES, locale, feature);
export const checklistValueWords = (v: string, locale: Locale = 'en') => say(CHECKLIST_VALUES, locale, v);
export const categoryWords = (c: string, locale: Locale = 'en') => say(CATEGORIES, locale, c);
export const modeWords = (m: string, locale: Locale = 'en') => say(MODES, locale, m);
export const reviewReasonWords = (r: string, locale: Locale = 'en') => say(REASONS, locale, r);
export const roleWords = (r: string, locale: Locale = 'en') => say(ROLES, locale, r);
export const deliveryWords = (d: string, locale: Locale = 'en') => say(DELIVERY, locale, d);
export const bandWords = (b: FmrBand, locale: Locale = 'en') => say(BANDS, locale, b);
export const qualityLevelWords = (q: QualityLevel, locale: Locale = 'en') => say(QUALITY_LEVELS, locale, q);

/** "about 1 in 10,000" / "aprox. 1 de cada 10,000"; at the calibration floor, "1 in N or rarer". */
export function oneInWords(fmr: number, f: Formatters, scale?: ScoreScale): string {
  const n = f.count(oneIn(fmr));
  const floor = scale ? atFloor(fmr, scale) : false;
  if (f.locale === 'es-MX') return floor ? `1 de cada ${n} o menos` : `aprox. 1 de cada ${n}`;
  return floor ? `1 in ${n} or rarer` : `about 1 in ${n}`;
}

/** The band's edges in words, for a legend: "strong: 1 in 10,000 or rarer; possible: …; weak: more often". */
export function bandLegend(s: ScoreScale, f: Formatters): string {
  const strong = f.count(oneIn(s.strong));
  const possible = f.count(oneIn(s.possible));
  const es = f.locale === 'es-MX';
  const parts = es ? [`fuerte: 1 de cada ${strong} o menos frecuente`] : [`strong: 1 in ${strong} or rarer`];
  if (s.possible > s.strong) parts.push(es ? `posible: hasta 1 de cada ${possible}` : `possible: up to 1 in ${possible}`);
  parts.push(es ? `débil: más frecuente` : 'weak: more often');
  const edges = es
    ? `umbrales de esta instalación: cotejo contra listas 1 de cada ${f.count(oneIn(s.screeningTargetFmr))}, verificación 1:1 1 de cada ${f.count(oneIn(s.verifyTargetFmr))}`
    : `this deployment's thresholds: screening 1 in ${f.count(oneIn(s.screeningTargetFmr))}, 1:1 verification 1 in ${f.count(oneIn(s.verifyTargetFmr))}`;
  return `${parts.join('; ')} (${edges})`;
}
