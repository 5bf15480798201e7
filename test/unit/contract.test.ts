import type { INodeProperties, VersionedNodeType } from 'n8n-workflow';

import { BatchStatus } from '../../nodes/BatchStatus/BatchStatus.node';
import { Checkpoint } from '../../nodes/Checkpoint/Checkpoint.node';
import { RateLimit } from '../../nodes/RateLimit/RateLimit.node';
import {
	BATCH_LIMITS,
	ID_PATTERN,
	IN_DOUBT_POLICIES,
	LIMITER_LIMITS,
	RESULT_STATUSES,
} from '../../nodes/shared/contract';
import { SplitIntoChunks } from '../../nodes/SplitIntoChunks/SplitIntoChunks.node';
import {
	claimBody,
	createBatchBody,
	recordResultsBody,
} from '../../service/src/batches/http/schemas';
import { mockContext } from './nodes/mock-context';

/**
 * One wire contract (nodes/shared/contract): the nodes' parameters and the service's zod schemas
 * must both follow it. Each side is checked on what it really does: the node descriptions and
 * the node's own checks, and the service schema's parse of real bodies.
 */

type LimitName = keyof typeof BATCH_LIMITS;
const LIMITS = { ...BATCH_LIMITS, ...LIMITER_LIMITS };
const nodes: VersionedNodeType[] = [
	new SplitIntoChunks(),
	new Checkpoint(),
	new RateLimit(),
	new BatchStatus(),
];

/** Every parameter of every node version, collections opened. */
function allProperties(): Array<INodeProperties & { node: string }> {
	const found: Array<INodeProperties & { node: string }> = [];
	const walk = (node: string, properties: INodeProperties[]) => {
		for (const property of properties) {
			found.push({ ...property, node });
			if (property.type === 'collection' && property.options) {
				walk(node, property.options as INodeProperties[]);
			}
			if (property.type === 'fixedCollection' && property.options) {
				for (const group of property.options as Array<{ values?: INodeProperties[] }>) {
					walk(node, group.values ?? []);
				}
			}
		}
	};
	for (const node of nodes) {
		for (const version of Object.values(node.nodeVersions)) {
			walk(node.description.name, version.description.properties);
		}
	}
	return found;
}

/** Batch settings with a node parameter of their own name (adaptive sizing sits in a group). */
const NODE_PARAMETERS: LimitName[] = [
	'chunkSize',
	'concurrency',
	'maxAttempts',
	'backoffInitialMs',
	'backoffMaxMs',
	'priority',
	'timeoutMs',
	'failureRatio',
	'failureMinSample',
	'leaseMs',
];

describe('the wire contract, node side', () => {
	const properties = allProperties();

	it.each([...NODE_PARAMETERS, 'adaptiveTargetSeconds' as const, 'maxWaitMs' as const])(
		'%s: node parameter label, default and range are the contract',
		(name) => {
			const limit = LIMITS[name];
			const matches = properties.filter((p) => p.name === name);
			expect(matches.length).toBeGreaterThan(0);
			for (const property of matches) {
				expect({
					label: property.displayName,
					default: property.default,
					min: property.typeOptions?.minValue,
					max: property.typeOptions?.maxValue,
				}).toEqual({ label: limit.label, default: limit.default, min: limit.min, max: limit.max });
			}
		},
	);

	it('labels milliseconds "(ms)", never "(Ms)"', () => {
		const miscased = properties.filter((p) => /\(Ms\)/.test(p.displayName));
		expect(miscased.map((p) => `${p.node}.${p.name}`)).toEqual([]);
	});

	const submitOption = async (name: LimitName, value: number) => {
		const { ctx, calls } = mockContext({
			items: [{ json: { id: 'a' } }],
			parameters: {
				operation: 'submitBatch',
				batchKey: 'b',
				keySource: 'field',
				keyField: 'id',
				// The ratio is sent only with a failure threshold, i.e. when above 0.
				options: { [name]: value, ...(name === 'failureMinSample' ? { failureRatio: 0.5 } : {}) },
			},
			respond: () => ({ statusCode: 200, body: { batchId: 'b', created: true, sealed: false } }),
		});
		await new SplitIntoChunks().nodeVersions[1].execute!.call(ctx);
		return calls[0]?.options.body as Record<string, unknown>;
	};
	const submitted = (name: LimitName, body: Record<string, unknown>) =>
		({
			backoffInitialMs: (body.backoff as { initialMs: number }).initialMs,
			backoffMaxMs: (body.backoff as { maxMs: number }).maxMs,
			failureRatio: (body.failureThreshold as { ratio?: number } | undefined)?.ratio ?? 0,
			failureMinSample: (body.failureThreshold as { minSample?: number } | undefined)?.minSample,
		})[name as string] ?? body[name];
	const submitLimits = NODE_PARAMETERS.filter((name) => name !== 'leaseMs');

	it.each(submitLimits)(
		'%s: Submit Batch accepts the contract range and refuses beyond it',
		async (name) => {
			const { min, max, label } = BATCH_LIMITS[name];
			// Backoff max below backoff initial is refused on its own (initial defaults to 1000).
			const only: Partial<Record<LimitName, number[]>> = {
				backoffInitialMs: [min],
				backoffMaxMs: [max],
			};
			const inRange = only[name] ?? [min, max];
			for (const value of inRange) {
				expect(submitted(name, await submitOption(name, value))).toBe(value);
			}
			for (const value of [min - 1, max + 1]) {
				await expect(submitOption(name, value)).rejects.toThrow(`'${label}' must be`);
			}
		},
	);
});

describe('the wire contract, service side (service/src/batches/schemas.ts)', () => {
	const minimal = { batchKey: 'b-1' };
	const parsed = () => createBatchBody.parse(minimal) as unknown as Record<string, unknown>;
	const wire: Record<string, (body: Record<string, unknown>) => unknown> = {
		backoffInitialMs: (body) => (body.backoff as { initialMs?: number } | undefined)?.initialMs,
		backoffMaxMs: (body) => (body.backoff as { maxMs?: number } | undefined)?.maxMs,
	};
	const withValue = (name: LimitName, value: number): Record<string, unknown> => {
		if (name === 'backoffInitialMs')
			return { ...minimal, backoff: { initialMs: value, maxMs: 86_400_000 } };
		if (name === 'backoffMaxMs') return { ...minimal, backoff: { initialMs: 0, maxMs: value } };
		if (name === 'failureRatio') return { ...minimal, failureThreshold: { ratio: value } };
		if (name === 'failureMinSample') {
			return { ...minimal, failureThreshold: { ratio: 0.5, minSample: value } };
		}
		return { ...minimal, [name]: value };
	};
	const createLimits = submitLimitsOf();

	it.each(createLimits.filter((name) => name !== 'failureRatio' && name !== 'failureMinSample'))(
		'%s: the create schema defaults to the contract',
		(name) => {
			const body = parsed();
			expect((wire[name] ?? ((b) => b[name]))(body)).toBe(BATCH_LIMITS[name].default);
		},
	);

	it('failureMinSample: the threshold defaults its sample to the contract', () => {
		const body = createBatchBody.parse(withValue('failureRatio', 0.5)) as {
			failureThreshold?: { minSample?: number };
		};
		expect(body.failureThreshold?.minSample).toBe(BATCH_LIMITS.failureMinSample.default);
	});

	it.each(createLimits)('%s: the create schema takes the contract range, no more', (name) => {
		const { min, max } = BATCH_LIMITS[name];
		for (const value of [min, max]) {
			expect(createBatchBody.safeParse(withValue(name, value)).success).toBe(true);
		}
		for (const value of [min - 1, max + 1]) {
			expect(createBatchBody.safeParse(withValue(name, value)).success).toBe(false);
		}
	});

	it('takes the in-doubt policy (default retry) and a completion URL', () => {
		expect(parsed().inDoubt).toBe(IN_DOUBT_POLICIES[0]);
		for (const inDoubt of IN_DOUBT_POLICIES) {
			expect(createBatchBody.safeParse({ ...minimal, inDoubt }).success).toBe(true);
		}
		expect(createBatchBody.safeParse({ ...minimal, inDoubt: 'sometimes' }).success).toBe(false);
		const completionUrl = 'http://127.0.0.1:5678/webhook/done';
		expect(createBatchBody.parse({ ...minimal, completionUrl })).toMatchObject({ completionUrl });
	});

	it('leaseMs: Claim defaults and ranges as the contract', () => {
		const { default: def, min, max } = BATCH_LIMITS.leaseMs;
		expect(claimBody.parse({ keys: ['a'] }).leaseMs).toBe(def);
		for (const [leaseMs, ok] of [
			[min, true],
			[max, true],
			[min - 1, false],
			[max + 1, false],
		] as const) {
			expect(claimBody.safeParse({ keys: ['a'], leaseMs }).success).toBe(ok);
		}
	});

	it('Record Results takes every result status, and released items with retryAfterMs', () => {
		const { max } = BATCH_LIMITS.retryAfterMs;
		for (const status of RESULT_STATUSES) {
			expect(recordResultsBody.safeParse({ results: [{ key: 'a', status }] }).success).toBe(true);
		}
		const released = (retryAfterMs: number) =>
			recordResultsBody.safeParse({ results: [{ key: 'a', status: 'released', retryAfterMs }] });
		expect(released(max).success).toBe(true);
		expect(released(max + 1).success).toBe(false);
	});

	it('refuses the ids the contract refuses', () => {
		for (const id of ['a', 'A-1.b_c:d', 'x'.repeat(128), '', '-a', 'a b', 'x'.repeat(129)]) {
			expect(createBatchBody.safeParse({ batchKey: id }).success).toBe(ID_PATTERN.test(id));
		}
	});
});

/** Batch settings of the create body (Claim's lease is checked on its own). */
function submitLimitsOf(): LimitName[] {
	return NODE_PARAMETERS.filter((name) => name !== 'leaseMs');
}
