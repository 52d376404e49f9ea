import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { crToLf, endsLinesWithCrAlone, isTarArchive, unreadableForm, utf16ByBom, utf16ByNuls, Utf16ToUtf8 } from '../../../lambda/engine/input/text-form';
import { tempDir } from '../../helpers/cli';
import { checkBytes, destination, policyOf } from '../../helpers/engine';

describe('unreadableForm', () => {
  it.each([
    ['bzip2', Buffer.from('BZh91AY&SY'), /^bzip2-compressed: decompress it first/],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]), /^xz-compressed/],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58]), /^zstd-compressed/],
    ['zip', Buffer.from('PK\x03\x04\x14\x00', 'latin1'), /^a zip archive/],
    // Office files are zip archives: told by their entries' names (local headers, stored as they are).
    ['an Excel workbook', Buffer.from(`PK\x03\x04${'\0'.repeat(26)}[Content_Types].xml...PK\x03\x04${'\0'.repeat(26)}xl/workbook.xml`, 'latin1'), /^an Excel workbook \(\.xlsx\): save or export the sheet as CSV/],
    ['an OpenDocument spreadsheet', Buffer.from(`PK\x03\x04${'\0'.repeat(26)}mimetypeapplication/vnd.oasis.opendocument.spreadsheet`, 'latin1'), /^an OpenDocument spreadsheet/],
    ['7-Zip', Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), /^a 7-Zip archive/],
    ['Parquet', Buffer.from('PAR1\x15\x04', 'latin1'), /^a Parquet file/],
    // The head it is given is decoded: gzip there is gzip inside gzip.
    ['gzip inside gzip', Buffer.from([0x1f, 0x8b, 8, 0]), /^gzip-compressed twice: decompress it once first/],
  ])('names %s', (_what, head, message) => {
    expect(unreadableForm(head)).toMatch(message);
  });

  it('says nothing of text or of what the checker reads', () => {
    for (const head of [Buffer.from('ts,dst\n1,8.8.8.8\n'), Buffer.from('#separator \\x09\n'), Buffer.alloc(0)]) {
      expect(unreadableForm(head)).toBeNull();
    }
  });
});

/** `text` as UTF-16 big-endian bytes. */
const utf16be = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16();

describe('UTF-16 text', () => {
  it('is told by its byte order mark, or without one by the NULs beside its ASCII characters', () => {
    expect(utf16ByBom(Buffer.from('\ufeffts,dst\n', 'utf16le'))).toBe('utf-16le');
    expect(utf16ByBom(utf16be('\ufeffts,dst\n'))).toBe('utf-16be');
    expect(utf16ByBom(Buffer.from('ts,dst\n'))).toBeNull();
    expect(utf16ByNuls(Buffer.from('dst_ip,bytes_out\n8.8.8.8,10\n', 'utf16le'))).toBe('utf-16le');
    expect(utf16ByNuls(utf16be('dst_ip,bytes_out\n8.8.8.8,10\n'))).toBe('utf-16be');
    expect(utf16ByNuls(Buffer.from('dst_ip,bytes_out\n8.8.8.8,10\n'))).toBeNull();
  });

  it('becomes UTF-8 chunk by chunk, characters cut between chunks included', () => {
    // An address, a CJK name and a character outside the BMP (a surrogate pair), cut at every byte.
    const text = '\ufeffdst,app\n8.8.8.8,微信 \u{1F600}\n';
    for (const [encoding, bytes] of [
      ['utf-16le', Buffer.from(text, 'utf16le')],
      ['utf-16be', utf16be(text)],
    ] as const) {
      for (let size = 1; size <= 5; size++) {
        const t = new Utf16ToUtf8(encoding);
        const out: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += size) out.push(t.push(bytes.subarray(i, i + size)));
        out.push(t.end());
        expect(Buffer.concat(out).toString('utf8')).toBe(text.slice(1));
      }
    }
    // An odd byte at the end, or half a surrogate pair: U+FFFD, never a lost line.
    const odd = new Utf16ToUtf8('utf-16be');
    expect(Buffer.concat([odd.push(utf16be('a\n')), odd.push(Buffer.from([0x00])), odd.end()]).toString()).toBe('a\n\ufffd');
    const half = new Utf16ToUtf8('utf-16le');
    expect(half.push(Buffer.from('a\ud83d', 'utf16le'), true).toString()).toBe('a\ufffd');
  });

  it('is checked as the UTF-8 it spells (PowerShell 5.1 redirection, Excel "Unicode Text"), line numbers the same', async () => {
    // Prepare: one CSV, as UTF-8 and as UTF-16 with and without a byte order mark, both byte orders
    const csv = 'Time\tSource IP\tDestination IP\tDestination Port\tBytes Sent\r\n2024-03-01 10:00:00\t10.0.0.5\t1.2.4.8\t443\t5000\r\n2024-03-01 10:00:01\t10.0.0.5\tnot-an-ip\t443\t1\r\n2024-03-01 10:00:02\t10.0.0.5\t8.8.8.8\t443\t70\r\n';
    const utf8 = await checkBytes(csv, { policy: policyOf('us') });
    expect(utf8.totals).toMatchObject({ records: 3, skipped: 1, bytesSent: 5070 });
    for (const bytes of [Buffer.from(`\ufeff${csv}`, 'utf16le'), Buffer.from(csv, 'utf16le'), utf16be(`\ufeff${csv}`), utf16be(csv)]) {
      // Act: in chunks of 7 bytes, so characters are cut between them
      const v = await checkBytes(bytes, { policy: policyOf('us') }, 7);

      // Assess
      expect(v.error).toBeUndefined();
      expect(v.input).toMatchObject({ format: 'generic-csv', bytes: bytes.length });
      expect(v.totals).toEqual(utf8.totals);
      expect(v.destinations).toEqual(utf8.destinations);
      expect(v.errors).toEqual([{ line: 3, reason: 'destination address is not an IP address: "not-an-ip"' }]);
    }
  });

  it('is named when it is no log either, and a capture is still a capture', async () => {
    const v = await checkBytes(Buffer.from('\ufeffhello\nworld\n', 'utf16le'));
    expect(v.error).toMatch(/^unknown log format \(read as UTF-16 little-endian text\): none of /);
    // A capture whose bytes look like UTF-16 (a packet of 01 00 01 00 ...): read as the capture it is.
    const header = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
    const packet = Buffer.concat([Buffer.alloc(14), Buffer.from('0100'.repeat(200), 'hex')]);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1709287200, 0);
    record.writeUInt32LE(packet.length, 8);
    record.writeUInt32LE(packet.length, 12);
    const pcap = Buffer.concat([header, record, packet]);
    expect(utf16ByNuls(pcap)).toBe('utf-16le');
    expect((await checkBytes(pcap, { policy: policyOf('us') })).input.format).toBe('pcap');
  });
});

describe('carriage returns alone', () => {
  it('are recognised in text only', () => {
    expect(endsLinesWithCrAlone(Buffer.from('a,b\r1,2\r'))).toBe(true);
    expect(endsLinesWithCrAlone(Buffer.from('a,b\r\n1,2\r\n'))).toBe(false);
    expect(endsLinesWithCrAlone(Buffer.from('a,b\n'))).toBe(false);
    // Binary with a 0x0D byte and no 0x0A (a tiny capture): not text.
    expect(endsLinesWithCrAlone(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x0d]))).toBe(false);
  });

  it('become line feeds in a copy', () => {
    const chunk = Buffer.from('a\rb\r\rc');
    expect(crToLf(chunk).toString()).toBe('a\nb\n\nc');
    expect(chunk.toString()).toBe('a\rb\r\rc');
  });

  it('end lines of a CSV saved as "CSV (Macintosh)": every record read, with its own line number', async () => {
    // Prepare
    const csv = 'Time,Source IP,Destination IP,Destination Port,Protocol,Bytes Sent\r2024-03-01 10:00:00,10.0.0.5,1.2.4.8,443,TCP,5000\r2024-03-01 10:00:01,10.0.0.5,8.8.8.8,443,TCP,70\r';

    // Act: split into chunks that cut between a CR and what follows
    const v = await checkBytes(csv, { policy: policyOf('us') }, 5);

    // Assess
    expect(v.error).toBeUndefined();
    expect(v.totals).toMatchObject({ records: 2, skipped: 0, bytesSent: 5070 });
    expect(destination(v, '1.2.4.8')).toMatchObject({ status: 'violation', bytesSent: 5000, evidenceLines: [2] });
    expect(destination(v, '8.8.8.8').evidenceLines).toEqual([3]);
  });

  it('name a compressed input in the error instead of listing every format', async () => {
    const v = await checkBytes(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, 0xe6, 0xd6, 0xb4, 0x46]));
    expect(v.error).toBe('unknown log format: the input is xz-compressed: decompress it first (unxz); gzip is read as it is');
  });
});

describe('archives', () => {
  /** A tar archive (as tar writes it, POSIX or GNU) of two logs. */
  function tarOf(format: 'posix' | 'gnu'): Buffer {
    const dir = tempDir();
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'a.csv'), 'dst_ip,bytes_out\n8.8.8.8,100\n');
    writeFileSync(join(dir, 'logs', 'b.csv'), 'dst_ip,bytes_out\n1.2.4.8,100\n');
    return execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', join(dir, 'logs'), 'a.csv', 'b.csv']);
  }

  it('recognises a tar archive by its header, and nothing else', () => {
    expect(isTarArchive(tarOf('posix'))).toBe(true);
    expect(isTarArchive(tarOf('gnu'))).toBe(true);
    // "ustar" where tar puts it, in a header whose checksum does not add up: not an archive.
    const text = Buffer.alloc(600, 0x61);
    text.write('ustar\0', 257, 'latin1');
    expect(isTarArchive(text)).toBe(false);
    expect(isTarArchive(Buffer.from('dst_ip,bytes_out\n8.8.8.8,100\n'))).toBe(false);
  });

  it('refuses a tar archive, gzip or not, even with a format named, instead of reading its logs as one', async () => {
    for (const bytes of [tarOf('posix'), gzipSync(tarOf('gnu'))]) {
      const v = await checkBytes(bytes, { policy: policyOf('us'), format: 'generic-csv' }, 7);
      expect(v.compliant).toBe(false);
      expect(v.error).toBe('not a log: the input is a tar archive: extract the logs from it first, and check each');
    }
  });

  it('names gzip inside gzip', async () => {
    const v = await checkBytes(gzipSync(gzipSync('dst_ip,bytes_out\n8.8.8.8,100\n')), { policy: policyOf('us') });
    expect(v.error).toBe('unknown log format: the input is gzip-compressed twice: decompress it once first (gunzip); gzip is read as it is');
  });
});
