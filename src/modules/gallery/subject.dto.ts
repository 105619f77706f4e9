import { z } from 'zod';
import { CATEGORIES } from './gallery.model';
import { boxShape, intText, qualityShape, shortName, isoDate } from '../../platform/http/fields';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
export const faceParams = z.object({ id: z.string().uuid(), faceId: z.string().uuid() });

export const subjectBody = z
  .object({
    displayName: z.string().trim().min(1).max(200),
    category: z.enum(CATEGORIES),
    watchlist: shortName.describe("name or id of a watchlist of the caller's organization"),
    externalRef: z.string().max(200).nullish(),
    caseRef: z.string().max(200).nullish(),
    legalBasis: z.string().trim().min(1).max(500),
    notes: z.string().max(5000).nullish(),
    reviewBy: isoDate().nullish(),
  })
  .strict();

export const subjectPatch = subjectBody.partial().strict();

export const subject = z.object({
  id: z.string().uuid(),
  displayName: z.string(),
  category: z.enum(CATEGORIES),
  watchlist: z.string(),
  watchlistId: z.guid(),
  externalRef: z.string().nullable(),
  caseRef: z.string().nullable(),
  legalBasis: z.string(),
  notes: z.string().nullable(),
  reviewBy: z.string().nullable(),
  organization: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  faceCount: z.number().int().optional(),
});

export const listSubjectsQuery = z.object({
  watchlist: z.string().optional(),
  category: z.enum(CATEGORIES).optional(),
  q: z.string().max(200).optional(),
  externalRef: z.string().max(200).optional().describe('exact external reference (bulk enrolment finds a subject it enrolled before by it)'),
  imageSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional()
    .describe('only subjects with a face enrolled from the photo with this SHA-256 (hex, lower case)'),
  due: z.enum(['true', 'false']).optional(),
  cursor: z.string().optional(),
  limit: intText(1, 200).default(50),
});

/** An enrolled face as GET /v1/subjects/{id} lists it (no template, no image). */
export const faceRecord = z.object({
  id: z.string().uuid(),
  subjectId: z.string().uuid(),
  modelId: z.string(),
  quality: qualityShape.extend({ metrics: z.record(z.string(), z.number()).optional().describe('the measurements behind the score') }),
  box: boxShape,
  source: z.string().nullable(),
  imageSha256: z.string().nullable().describe('SHA-256 (hex) of the enrolment photo; null for templates enrolled before it was kept and not in the audit chain'),
  qualityOverruled: z.boolean().describe('enrolled below ENROL_MIN_QUALITY because the enroller sent acceptQuality=true (quality.issues says why it was below)'),
  createdAt: z.string(),
});

export const subjectWithFaces = subject.extend({ faces: z.array(faceRecord) });

/** A face box as a multipart field: JSON text `{"x":…,"y":…,"width":…,"height":…}` in the photo's pixels. */
const boxText = z
  .string()
  .max(200)
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'JSON text {"x":…,"y":…,"width":…,"height":…}' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ x: z.number(), y: z.number(), width: z.number().positive(), height: z.number().positive() }).strict());

export const enrolFields = z
  .object({
    source: z.string().max(500).optional(),
    faceIndex: intText(0, 9999)
      .optional()
      .describe('enrol this face of the photo: 0-based, in the order MULTIPLE_FACES lists details.boxes (largest first); NO_FACE with the boxes when there is no such face'),
    box: boxText
      .optional()
      .describe('enrol the detected face that overlaps this box most (IoU; JSON text {"x","y","width","height"} in the photo\'s pixels, as MULTIPLE_FACES reports boxes); NO_FACE with the boxes when none overlaps it. Not with faceIndex'),
    acceptQuality: z
      .enum(['true', 'false'])
      .optional()
      .describe('true: enrol a face below ENROL_MIN_QUALITY (not below ENROL_QUALITY_FLOOR); it is stored with qualityOverruled: true and audited as overruled'),
  })
  .refine((f) => f.faceIndex === undefined || f.box === undefined, { message: 'give faceIndex or box, not both', path: ['box'] });

export const enrolResult = z.object({
  faceId: z.string().uuid(),
  subjectId: z.string().uuid(),
  quality: qualityShape,
  box: boxShape,
  model: z.string(),
  otherFaces: z.array(boxShape).describe('boxes of the faces of the photo that were not enrolled (largest first; empty for a photo of one face)'),
  faceChosenBy: z
    .enum(['only', 'dominant', 'faceIndex', 'box'])
    .describe('only: the photo has one face; dominant: the largest face, ENROL_DOMINANT_RATIO × larger than every other; faceIndex / box: as the request chose'),
  qualityOverruled: z.boolean().describe('the face is below ENROL_MIN_QUALITY and was enrolled because the request sent acceptQuality=true'),
});

export const imageQuery = z.object({ variant: z.enum(['crop', 'original']).default('crop') });
