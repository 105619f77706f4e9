import { z } from 'zod';
import { intText, timeWindow } from '../../platform/http/fields';
import { CHECKPOINT_TYPE, COUNTERSIGNATURE_TYPE } from './checkpoint.model';
import { parseExpectation, type ChainExpectation } from './chain-audit.model';

/** Request and response schemas of this module's routes: they validate input and describe the API in /openapi.json. */
const eventFilters = {
  ...timeWindow,
  actor: z.string().uuid().optional().describe('key id of the actor'),
  holder: z.string().trim().min(1).max(200).optional().describe('holder of the acting key (events of any of their keys)'),
  organization: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe("the actor's organization (auditors of *; an auditor of another organization sees its own events only, and nothing for another)"),
  caseRef: z.string().trim().min(1).max(200).optional().describe('events of the searches with this case reference and events that name it (a failed search attempt)'),
  type: z.string().max(100).optional(),
  subjectId: z.string().uuid().optional(),
  searchId: z.string().uuid().optional(),
};

export const auditEventsQuery = z.object({
  ...eventFilters,
  order: z.enum(['asc', 'desc']).default('asc').describe('asc: seq order (default); desc: newest first'),
  cursor: z.string().regex(/^\d{1,15}$/, 'pass nextCursor from a previous page').optional().describe('seq of the last event of the previous page'),
  limit: intText(1, 1000).default(100),
});

export const auditEventsExportQuery = z.object({ ...eventFilters, format: z.enum(['ndjson', 'csv']).default('ndjson') });

export const auditWindowQuery = z.object(timeWindow);

export const anchorsQuery = z.object({ limit: intText(1, 1000).default(100) });

export const auditEvent = z.object({
  seq: z.number().int(),
  at: z.string(),
  actor: z.object({ keyId: z.string().nullable(), organization: z.string(), roles: z.array(z.string()) }),
  type: z.string(),
  subjectIds: z.array(z.string()),
  searchId: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

const expectation = z
  .string()
  .regex(/^\d{1,15}:[0-9a-f]{64}$/, 'seq:hash, the hash as 64 lower-case hex digits')
  .transform((v) => parseExpectation(v) as ChainExpectation);

export const verifyQuery = z.object({
  expect: z
    .union([expectation, z.array(expectation).max(100)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .describe(
      'seq:hash the chain must still hold (repeatable, at most 100): a head you kept from an earlier verification, anchor or checkpoint. An expected seq beyond the head fails: the tail was cut off',
    ),
});

export const auditEventInContext = auditEvent.extend({
  context: z
    .object({
      holder: z.string().nullable().describe('holder of the acting key'),
      purpose: z.string().nullable().describe("the purpose of the search the event is about (its own payload's, else its search's)"),
      caseRef: z.string().nullable(),
    })
    .describe('read when listed, not part of the event: the hash covers the other fields only'),
});

export const chainVerification = z.object({
  ok: z.boolean(),
  events: z.number().int(),
  headHash: z.string(),
  headSeq: z.number().int(),
  firstBadSeq: z.number().int().optional(),
  reason: z.string().optional(),
  anchors: z
    .object({
      checked: z.number().int(),
      mismatched: z.array(z.object({ seq: z.number().int(), anchoredHash: z.string().nullable(), chainHash: z.string().nullable() })),
    })
    .describe('every stored anchor row checked against the audit.anchored event at its seq; anchoredHash null: that event lost its row'),
  anchoredEvents: z
    .object({
      checked: z.number().int(),
      mismatched: z.array(z.object({ seq: z.number().int(), verifiedSeq: z.number().int(), verifiedHash: z.string(), chainHash: z.string().nullable() })),
    })
    .describe("every audit.anchored event's verified head checked against the chain"),
  expected: z
    .object({
      checked: z.number().int(),
      failed: z.array(z.object({ seq: z.number().int(), hash: z.string(), chainHash: z.string().nullable(), source: z.string() })),
    })
    .describe('expect= heads and signed checkpoints from AUDIT_CHECKPOINT_DIR: the chain must hold each hash at its seq'),
  checkpoints: z
    .object({ read: z.number().int(), invalid: z.array(z.object({ source: z.string(), reason: z.string() })) })
    .describe('checkpoint files read from AUDIT_CHECKPOINT_DIR; one without a valid signature of this deployment fails the verification'),
  ms: z.number(),
});

export const signedCheckpoint = z
  .object({
    type: z.literal(CHECKPOINT_TYPE),
    v: z.literal(1),
    keyId: z.string(),
    seq: z.number().int(),
    hash: z.string(),
    at: z.string(),
    sig: z.string().describe('base64url Ed25519 signature over the canonical JSON of the other fields'),
  })
  .describe('A signed checkpoint of the chain head (docs/OVERSIGHT.md "Checkpoints")');

export const countersignature = z.object({
  type: z.literal(COUNTERSIGNATURE_TYPE),
  v: z.literal(1),
  checkpoint: z.string().describe('hex SHA-256 of the canonical JSON of the whole signed checkpoint'),
  keyId: z.string(),
  at: z.string(),
  sig: z.string(),
});

export const checkpointOutcome = z.object({
  checkpoint: signedCheckpoint,
  countersignatures: z.array(countersignature),
  sinks: z.array(z.object({ sink: z.string(), ok: z.boolean(), failure: z.string().optional() })),
});

export const auditAnchor = z.object({ seq: z.number().int(), hash: z.string(), createdAt: z.string() });

export const readStats = z.object({
  from: z.string().nullable().describe('the window asked for (null: unbounded)'),
  to: z.string().nullable(),
  byReader: z
    .array(
      z.object({
        type: z.string().describe('read.subjects, read.subject, read.face_image, read.search, read.probe_face, read.candidate_face or read.case_file'),
        organization: z.string().describe("the reader's organization"),
        holder: z.string().nullable().describe("the reading key's holder (null: no key, or one the chain names but the key table does not hold)"),
        events: z.number().int().describe('requests (one event each)'),
        subjects: z.number().int().describe('subject ids those events name, summed (a listing names every subject on its page)'),
      }),
    )
    .describe("per kind of read, reader organization and holder (an auditor of another organization than *: its own readers)"),
  byOwner: z
    .array(z.object({ owner: z.string().describe('the organization whose subjects or search were read'), organization: z.string().describe("the reader's organization"), events: z.number().int() }))
    .describe('per data owner and reader organization (events that name their owners: subject reads, images, probe crops, case files)'),
});
