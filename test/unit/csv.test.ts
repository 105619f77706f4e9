import { csvLine, CsvSyntaxError, parseCsv, type CsvRecord } from '../../scripts/lib/csv';

async function all(chunks: string[]): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of parseCsv(chunks)) out.push(r);
  return out;
}

/** Every way of cutting `text` into two chunks: a record must not depend on where a read happened to end. */
const splits = (text: string) => Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)]);

describe('CSV reader for bulk enrolment', () => {
  const spreadsheet =
    '\ufeffdisplayName,notes,image\r\n' + '"Doe, Jane","said ""hello""\r\non the phone",a.jpg\r\n' + '\r\n' + 'Plain,,b.jpg\r\n' + '"",x,"c.jpg"';
  const expected = [
    { fields: ['displayName', 'notes', 'image'], line: 1 },
    { fields: ['Doe, Jane', 'said "hello"\r\non the phone', 'a.jpg'], line: 2 },
    { fields: ['Plain', '', 'b.jpg'], line: 5 },
    { fields: ['', 'x', 'c.jpg'], line: 6 },
  ];

  it('reads quoted commas, doubled quotes, line breaks in quotes, a BOM, CRLF and blank lines, however the text is chunked', async () => {
    for (const chunks of splits(spreadsheet)) expect(await all(chunks)).toEqual(expected);
  });

  it('reads LF and lone-CR line ends and a last line without a line end', async () => {
    expect((await all(['a,b\nc,d\re,f'])).map((r) => r.fields)).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f']]);
  });

  it('keeps a stray quote inside an unquoted field as text', async () => {
    expect((await all(['5" photo,x\n'])).map((r) => r.fields)).toEqual([['5" photo', 'x']]);
  });

  it('refuses a quoted field left open at the end of the file, naming its line', async () => {
    await expect(all(['a,b\n"open,c\nd\n'])).rejects.toThrow(new CsvSyntaxError('line 2: a quoted field is not closed before the end of the file'));
  });

  it('writes what it reads back unchanged', async () => {
    const fields = ['Doe, Jane', 'said "hi"\non the phone', ' padded', 'plain', ''];
    expect((await all([csvLine(fields)])).map((r) => r.fields)).toEqual([fields]);
    expect(csvLine(['a', 'b c'])).toBe('a,b c\n');
  });
});
