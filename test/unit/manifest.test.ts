import { ManifestError, parseManifest } from '../../src/modules/job/manifest';

describe('screening job manifests', () => {
  it('reads NDJSON rows with their line numbers, skipping blank lines and keeping bad rows as errors', () => {
    const rows = parseManifest('{"file":"a.jpg","clientRef":"C-1"}\n\n{"file":"b.jpg"}\nnot json\n{"clientRef":"C-4"}\n[1]\r\n', 10);
    expect(rows).toEqual([
      { line: 1, file: 'a.jpg', clientRef: 'C-1' },
      { line: 3, file: 'b.jpg' },
      { line: 4, error: 'not a JSON object' },
      { line: 5, error: 'no `file` (the uploaded file name)' },
      { line: 6, error: 'not a JSON object' },
    ]);
  });

  it('reads CSV with a BOM, CRLF line ends, quoted commas and doubled quotes; columns in any order', () => {
    const rows = parseManifest('\ufeffclientRef,file\r\n"Doe, Jane ""JD""",a.jpg\r\nC-2,b.jpg\r\nC-3\r\n', 10);
    expect(rows).toEqual([
      { line: 2, file: 'a.jpg', clientRef: 'Doe, Jane "JD"' },
      { line: 3, file: 'b.jpg', clientRef: 'C-2' },
      { line: 4, error: '1 fields where the header has 2' },
    ]);
  });

  it('refuses a manifest that is none: empty, a CSV without a file column, not UTF-8, or more rows than allowed', () => {
    expect(() => parseManifest('\n\n', 10)).toThrow(ManifestError);
    expect(() => parseManifest('name,clientRef\nx,y\n', 10)).toThrow(/`file` column/);
    expect(() => parseManifest('file\n\ufffd.jpg\n', 10)).toThrow(/UTF-8/);
    expect(() => parseManifest('file\na\nb\nc\n', 2)).toThrow(/more than 2 rows/);
  });
});
