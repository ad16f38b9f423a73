/** `--queue redis://...` → connection options, and a reachability check before BullMQ is involved. */
import { Redis } from 'ioredis';
import { UsageError } from '../util/errors.ts';

/** What BullMQ (through its ioredis driver) needs to connect. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Set for `rediss://` (TLS with the system's CAs). */
  tls?: Record<string, never>;
}

/**
 * Parses `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS). The password may
 * also come from the environment (`GROKLAB_REDIS_PASSWORD`) so it stays out of `ps` listings.
 */
export function parseRedisUrl(text: string, field = '--queue'): RedisConnectionOptions {
  const problem = (message: string) => new UsageError({ field, message });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw problem(`not a URL: ${JSON.stringify(text)}; expected redis://HOST:PORT[/DB]`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw problem(`must start with redis:// or rediss:// (got ${url.protocol}//)`);
  if (url.hostname === '') throw problem('needs a host, e.g. redis://127.0.0.1:6379');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw problem('port must be in [1, 65535]');
  const dbText = url.pathname.replace(/^\/+/, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isSafeInteger(db))
    throw problem(`database must be a number after the port, e.g. redis://host:6379/0 (got /${dbText})`);
  const password =
    url.password !== '' ? decodeURIComponent(url.password) : process.env.GROKLAB_REDIS_PASSWORD;
  return {
    // URL keeps IPv6 literals in brackets; sockets want them bare.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    username: url.username !== '' ? decodeURIComponent(url.username) : undefined,
    password: password || undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

/** The URL without its password, for messages. */
export function redactRedisUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return text;
  }
}

/**
 * PINGs the server once with a deadline, so an unreachable or misconfigured Redis is reported as
 * one clear line instead of BullMQ retrying forever.
 */
export async function checkRedisReachable(
  options: RedisConnectionOptions,
  url: string,
  timeoutMs = 5000,
): Promise<void> {
  const client = new Redis({
    ...options,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
  });
  let lastError: Error | null = null;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    const reason = (lastError as Error | null)?.message ?? (err as Error).message;
    throw new UsageError({
      field: '--queue',
      message: `cannot reach Redis at ${redactRedisUrl(url)}: ${reason}`,
    });
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
