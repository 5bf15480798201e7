import { z } from 'zod';

export const listSuppressionsQuery = z.strictObject({
	limit: z.coerce.number().int().min(1).max(1000).default(100),
	cursor: z
		.string()
		.regex(/^\d{1,20}$/, 'must be the nextCursor of an earlier page')
		.optional(),
});

export const putSuppressionBody = z.strictObject({
	reason: z
		.string()
		.trim()
		.min(1, 'is required: say why the address must not be sent to (e.g. "asked to be removed")')
		.max(1000),
});

export const suppressionSchema = z.object({
	address: z.string(),
	reason: z.string().describe("The relay's reply, or the operator's note"),
	source: z
		.enum(['smtp', 'api'])
		.describe('smtp: a relay refused the address; api: listed by hand'),
	code: z.number().optional().describe('SMTP reply code'),
	enhancedCode: z.string().optional().describe('Enhanced status code, e.g. 5.1.1'),
	batchId: z.string().optional().describe('The batch whose delivery got the reply'),
	itemKey: z.string().optional(),
	transport: z.string().optional(),
	suppressedAt: z.string(),
});

export const transportSchema = z.object({
	name: z.string().describe('What a batch names in smtp.transport'),
	host: z.string(),
	port: z.number(),
	secure: z.boolean(),
	ignoreTLS: z.boolean(),
	requireTLS: z.boolean(),
	authenticated: z.boolean().describe('Whether it logs in (the login itself is never shown)'),
	maxConnections: z.number().describe('Pooled connections per service process'),
	maxMessages: z.number().describe('Messages per connection before it is replaced'),
	timeoutMs: z.number().describe('Longest one SMTP transaction may take'),
});
