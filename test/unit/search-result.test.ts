import {
  mapSearchResult,
  mapStoredSearch,
  readStoredResult,
  shownCandidate,
  shownFace,
  shownSearchResult,
  storedFaces,
  storedSearchResult,
  storedVerifyResult,
  STORED_RESULT_VERSION,
  withNames,
  type ShownRecord,
} from '../../src/modules/search/search.model';
import * as api from '../../src/modules/search/search.dto';

/** The stored search result has one versioned schema; rows written before the version field read as version 1. */
const row = {
  searchId: '5f0c1a8e-2d7b-4c1e-9f3a-1b2c3d4e5f60',
  createdAt: '2026-01-31T09:30:00.000Z',
  mode: 'investigative',
  probe: { sha256: 'ab', width: 640, height: 480, facesDetected: 1 },
  faces: [
    {
      faceIndex: 0,
      box: { x: 1, y: 2, width: 3, height: 4 },
      quality: { score: 0.9, issues: [] },
      candidates: [{ rank: 1, subjectId: 's', category: 'fraud', watchlistId: 'w', faceId: 'f', similarity: 0.8, estimatedFalseMatchRate: 1e-5 }],
    },
  ],
  humanReviewRequired: true,
  reviewReasons: ['CANDIDATES_ARE_LEADS_ONLY'],
  thresholds: { screeningSimilarity: 0.7, screeningTargetFmr: 1e-4 },
};

describe('the stored search result', () => {
  it('reads a row written before versioning as version 1, keeping every stored field', () => {
    const r = readStoredResult('search', { ...row, legacyNote: 'kept' });
    expect(r).toMatchObject({ ...row, version: STORED_RESULT_VERSION, legacyNote: 'kept' });
  });

  it('refuses a row that is not a stored search result, and a version it does not know', () => {
    expect(() => readStoredResult('search', { ...row, faces: 'none' })).toThrow();
    expect(() => readStoredResult('search', { ...row, version: 99 })).toThrow();
    expect(() => readStoredResult('verify', row)).toThrow();
  });

  it('leaves the storage version out of API responses', () => {
    const stored = readStoredResult('search', row);
    expect(mapSearchResult(stored)).not.toHaveProperty('version');
    const named = { ...row, faces: row.faces.map((f) => ({ ...f, candidates: f.candidates.map((c) => withNames(c, { displayName: 'n', watchlist: 'w' })) })) };
    const rec: ShownRecord = {
      id: row.searchId, kind: 'search', organization: 'bank-a', keyId: 'k', mode: 'investigative', purpose: 'p', caseRef: 'c',
      probeSha256: 'ab', modelId: 'm', params: {}, result: shownSearchResult.parse(named), createdAt: row.createdAt,
    };
    const dto = mapStoredSearch(rec);
    expect(dto).not.toHaveProperty('version');
    expect(dto).toMatchObject({ kind: 'search', purpose: 'p', caseRef: 'c', organization: 'bank-a', keyId: 'k', searchId: row.searchId });
  });

  it('lists the probe faces of a stored search, and none for a verification', () => {
    expect(storedFaces({ kind: 'search', result: row }).map((f) => f.candidates.map((c) => c.subjectId))).toEqual([['s']]);
    expect(storedFaces({ kind: 'verify', result: {} })).toEqual([]);
  });

  it('declares in the API response schemas exactly the stored fields (less the storage version), so the two cannot drift', () => {
    const keys = (o: { shape: object }) => Object.keys(o.shape).sort();
    const stored = (o: { shape: object }) => keys(o).filter((k) => k !== 'version');
    // `federation` (a search that asked partner deployments) is answered beside the stored result, and kept in federation_request.
    expect(keys(api.searchResult).filter((k) => k !== 'federation')).toEqual(stored(storedSearchResult));
    expect(keys(api.verifyResult)).toEqual(stored(storedVerifyResult));
    expect(keys(api.searchResult.shape.faces.element)).toEqual(keys(shownFace));
    expect(keys(api.searchResult.shape.faces.element.shape.candidates.element)).toEqual(keys(shownCandidate));
    const meta = ['kind', 'purpose', 'caseRef', 'organization', 'keyId', 'reviews', 'blind'];
    expect(keys(api.storedSearch.options[0])).toEqual([...stored(storedSearchResult), ...meta].sort());
    expect(keys(api.storedSearch.options[1])).toEqual([...stored(storedVerifyResult), ...meta].sort());
  });
});
