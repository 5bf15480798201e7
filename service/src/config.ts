import path from 'node:path';
import { z } from 'zod';

import { parseTransports, transportVariables } from './smtp/transports';

const port = z.coerce.number().int().min(0).max(65535);

/** SMTP_TRANSPORT_<NAME> variables (gathered by name), parsed; an error names its variable. */
const smtpTransports = z
	.record(z.string(), z.string())
	.default({})
	.transform((variables, ctx) => {
		const { transports, errors } = parseTransports(variables);
		for (const { variable, message } of errors) {
			ctx.addIssue({ code: 'custom', path: [variable], message });
		}
		return transports;
	});

/** Every setting the service reads, validated once at start. */
const envSchema = z.object({
	PORT: port.default(3030),
	HOST: z.string().min(1).default('127.0.0.1'),
	API_KEY: z
		.string({ error: 'API_KEY is required: the key n8n sends in the x-api-key header' })
		.min(16, 'API_KEY must be at least 16 characters; generate one with `openssl rand -hex 24`'),
	REDIS_URL: z
		.string()
		.regex(/^rediss?:\/\//, 'REDIS_URL must start with redis:// or rediss://')
		.optional(),
	KEY_PREFIX: z
		.string()
		.regex(/^[A-Za-z0-9_.-]{1,40}$/, 'KEY_PREFIX: 1-40 letters, digits, dot, dash or underscore')
		.default('bg'),
	DATA_DIR: z.string().min(1).default(path.resolve('.data')),
	EMBEDDED_REDIS_PORT: port.default(6390),
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
	MAX_BODY_BYTES: z.coerce
		.number()
		.int()
		.min(1024)
		.max(512 * 1024 * 1024)
		.default(16 * 1024 * 1024),
	SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
	// HTTP server: how slowly a client may send and how many may connect (slowloris, floods).
	/** Longest a client may take to send a request's headers; then 408 and the socket closes. */
	HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
	/** Longest a client may take to send a whole request; answers (long-polls, acquires) may take longer. */
	HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
	/** An idle keep-alive socket is closed after this long. */
	HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
	/** Open connections at once; further ones are closed as they arrive. */
	HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(1024),
	// Batches: dispatch of chunks to worker webhooks.
	/** Sent as x-batch-guardian-secret on every chunk POST so workers can reject strangers. */
	DISPATCH_SECRET: z.string().min(1).optional(),
	/** Chunks one service process POSTs at once, over all batches. */
	DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
	/** BullMQ lock of a chunk job; a dead process's chunks are taken over after about this long. */
	DISPATCH_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
	/** Extra lease time past a chunk's timeoutMs, so a slow worker's results still count. */
	LEASE_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
	MAX_ITEMS_PER_PAGE: z.coerce.number().int().min(1).max(100_000).default(10_000),
	/** Circuit breaker per target URL: consecutive transient dispatch failures before it opens. */
	BREAKER_FAILURES: z.coerce.number().int().min(1).max(10_000).default(5),
	BREAKER_COOLDOWN_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
	/** Longest a chunk waits for its limiter's tokens before it is put back and tried later. */
	LIMITER_MAX_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
	/** `host:port,host:port`: seed nodes of a Redis Cluster (then REDIS_URL is not used). */
	REDIS_CLUSTER_NODES: z
		.string()
		.regex(
			/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/,
			'REDIS_CLUSTER_NODES must be host:port pairs separated by commas, e.g. 10.0.0.1:7000,10.0.0.2:7000',
		)
		.optional(),
	/** Finished batches (items, dead letters, report) are kept this long, then expire. */
	BATCH_RETENTION_HOURS: z.coerce.number().positive().max(87_600).default(168),
	/** A limiter key nobody used for this long is forgotten, settings included. */
	LIMITER_IDLE_HOURS: z.coerce.number().positive().max(87_600).default(168),
	/** A chunk's items take at most this many bytes of JSON (one larger item goes alone). */
	MAX_CHUNK_BYTES: z.coerce
		.number()
		.int()
		.min(1024)
		.max(512 * 1024 * 1024)
		.default(8 * 1024 * 1024),
	/** How long a request that carries outcomes is held, retrying, while Redis is away. */
	REDIS_RETRY_MS: z.coerce.number().int().min(0).max(300_000).default(20_000),
	/** How often each process settles expired leases and re-queues lost chunk jobs. */
	SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
	/** n8n's editor as operators open it; the progress page links chunks to their executions there. */
	N8N_EDITOR_URL: z
		.url({
			protocol: /^https?$/,
			error: 'N8N_EDITOR_URL must be an http:// or https:// URL, e.g. http://localhost:5678',
		})
		.optional(),
	/** Transports direct delivery may send through (from every SMTP_TRANSPORT_<NAME>). */
	SMTP_TRANSPORTS: smtpTransports,
});

export const configSchema = z.preprocess(
	(env) =>
		env && typeof env === 'object'
			? { ...env, SMTP_TRANSPORTS: transportVariables(env as Record<string, unknown>) }
			: env,
	envSchema,
);

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
	const parsed = configSchema.safeParse(env);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((issue) => {
			// A transport's issue is filed under its own variable's name.
			const name = issue.path[0] === 'SMTP_TRANSPORTS' ? issue.path.slice(1) : issue.path;
			return `  ${name.join('.')}: ${issue.message}`;
		});
		throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
	}
	return parsed.data;
}
