import { S3UrlError } from '../../lambda/adapters/s3-errors';
import { formatS3Url, parseS3Url } from '../../lambda/adapters/s3-url';
import { ResidencyError } from '../../lambda/engine';

describe('parseS3Url', () => {
  it.each([
    ['s3://my-logs/2024/06/flow.log.gz', 'my-logs', '2024/06/flow.log.gz'],
    ['s3://geo.db.bucket/GeoLite2 Country.mmdb', 'geo.db.bucket', 'GeoLite2 Country.mmdb'],
    ['s3://b12/a+b%41?x#y', 'b12', 'a+b%41?x#y'],
    ['s3://logs/dir/', 'logs', 'dir/'],
    ['s3://logs/ünï/日本.json', 'logs', 'ünï/日本.json'],
  ])('parses %j, taking the key literally', (url, bucket, key) => {
    // Act
    const location = parseS3Url(url);

    // Assess
    expect(location).toEqual({ bucket, key });
    expect(formatS3Url(location.bucket, location.key)).toBe(url);
  });

  it.each([
    [
      'https://my-logs.s3.amazonaws.com/k',
      "Invalid S3 URL 'https://my-logs.s3.amazonaws.com/k': expected s3://bucket/key",
    ],
    ['my-logs/key', "Invalid S3 URL 'my-logs/key': expected s3://bucket/key"],
    ['S3://my-logs/key', "Invalid S3 URL 'S3://my-logs/key': expected s3://bucket/key"],
    ['', "Invalid S3 URL '': expected s3://bucket/key"],
    ['s3://', "Invalid S3 URL 's3://': the bucket name is missing (expected s3://bucket/key)"],
    [
      's3:///key',
      "Invalid S3 URL 's3:///key': the bucket name is missing (expected s3://bucket/key)",
    ],
    [
      's3://my-logs',
      "Invalid S3 URL 's3://my-logs': the object key is missing (expected s3://bucket/key)",
    ],
    [
      's3://my-logs/',
      "Invalid S3 URL 's3://my-logs/': the object key is missing (expected s3://bucket/key)",
    ],
    ['s3://My_Logs/key', "Invalid S3 URL 's3://My_Logs/key': 'My_Logs' is not a valid bucket name"],
    ['s3://ab/key', "'ab' is not a valid bucket name"],
    ['s3://-logs/key', "'-logs' is not a valid bucket name"],
    ['s3://my..logs/key', "'my..logs' is not a valid bucket name"],
    ['s3://192.168.0.1/key', "'192.168.0.1' is not a valid bucket name"],
  ])('rejects %j with a message saying what was expected', (url, message) => {
    // Act + Assess
    expect(() => parseS3Url(url)).toThrow(S3UrlError);
    expect(() => parseS3Url(url)).toThrow(ResidencyError);
    expect(() => parseS3Url(url)).toThrow(message);
  });

  it('rejects a key longer than 1,024 UTF-8 bytes', () => {
    // Prepare: 342 three-byte characters = 1,026 bytes.
    const url = `s3://my-logs/${'日'.repeat(342)}`;

    // Act + Assess
    expect(() => parseS3Url(url)).toThrow("the key is 1026 bytes, more than S3's 1024-byte limit");
  });
});
