import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createServer, type Server, type Socket } from 'node:net';
import { createS3Client, S3_CONNECT_TIMEOUT_MS, S3_IDLE_TIMEOUT_MS } from '../../lambda/adapters/s3-client';
import { UsageError } from '../../lambda/engine';

describe('createS3Client', () => {
  it('uses AWS_ENDPOINT_URL_S3 as the endpoint, with path-style addressing', async () => {
    // Act
    const client = createS3Client({
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566',
      AWS_REGION: 'eu-west-1',
    });

    // Assess
    const endpoint = await client.config.endpoint?.();
    expect(endpoint).toMatchObject({ protocol: 'http:', hostname: '127.0.0.1', port: 4566 });
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.region()).toBe('eu-west-1');
    client.destroy();
  });

  it('keeps the SDK defaults (virtual-hosted style, checksums when supported) without it', async () => {
    // Act
    const client = createS3Client({ AWS_REGION: 'eu-west-1' });

    // Assess
    expect(client.config.endpoint).toBeUndefined();
    expect(client.config.forcePathStyle).toBeFalsy();
    expect(await client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    expect(await client.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
    client.destroy();
  });

  it('treats an empty AWS_ENDPOINT_URL_S3 as unset', () => {
    // Act
    const client = createS3Client({ AWS_ENDPOINT_URL_S3: '', AWS_REGION: 'eu-west-1' });

    // Assess
    expect(client.config.forcePathStyle).toBeFalsy();
    client.destroy();
  });

  it('lets overrides win over the environment', async () => {
    // Act
    const client = createS3Client(
      { AWS_REGION: 'eu-west-1' },
      { region: 'us-east-2', maxAttempts: 1 },
    );

    // Assess
    expect(await client.config.region()).toBe('us-east-2');
    expect(await client.config.maxAttempts()).toBe(1);
    client.destroy();
  });

  it.each(['localhost:4566', 'ftp://127.0.0.1', 'not a url'])(
    'refuses AWS_ENDPOINT_URL_S3=%j, naming the variable',
    (value) => {
      // Act + Assess
      expect(() => createS3Client({ AWS_ENDPOINT_URL_S3: value })).toThrow(UsageError);
      expect(() => createS3Client({ AWS_ENDPOINT_URL_S3: value })).toThrow(
        `Environment variable AWS_ENDPOINT_URL_S3 must be an http(s) URL such as http://127.0.0.1:4566, got '${value}'`,
      );
    },
  );

  it('gives up on a server that accepts and then says nothing, instead of waiting forever', async () => {
    // Prepare: a real TCP server that takes the request and never answers.
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const client = createS3Client(
      { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_REGION: 'us-east-1' },
      {
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 1000, socketTimeout: 300 },
      },
    );
    try {
      // Act
      const started = Date.now();
      const outcome = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })).then(
        () => 'answered',
        (err: Error) => err.name,
      );

      // Assess
      expect(outcome).toBe('TimeoutError');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      client.destroy();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('has connection and idle timeouts by default', async () => {
    const client = createS3Client({ AWS_REGION: 'eu-west-1' });
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    expect(await handler.configProvider).toMatchObject({ connectionTimeout: S3_CONNECT_TIMEOUT_MS, socketTimeout: S3_IDLE_TIMEOUT_MS });
    client.destroy();
  });
});
