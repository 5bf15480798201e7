/**
 * The one place that builds Redis key names: `<prefix>:<kind>:<id>[:<part>]`.
 * The `{...}` hash tag keeps every key of one batch in the same Redis Cluster slot,
 * so the Lua scripts that change a batch atomically can touch all of them.
 */
export class Keys {
	constructor(readonly prefix: string) {}

	/** Prefix handed to BullMQ, so its queues live beside our own keys. */
	get bullPrefix(): string {
		return `${this.prefix}:bull`;
	}

	batch(batchId: string): string {
		return `${this.prefix}:batch:{${batchId}}`;
	}

	batchPart(batchId: string, part: string): string {
		return `${this.prefix}:batch:{${batchId}}:${part}`;
	}

	batchIndex(): string {
		return `${this.prefix}:batches`;
	}

	batchKeyIndex(): string {
		return `${this.prefix}:batch-keys`;
	}

	limiter(limiterKey: string): string {
		return `${this.prefix}:limiter:{${limiterKey}}`;
	}

	limiterPart(limiterKey: string, part: string): string {
		return `${this.prefix}:limiter:{${limiterKey}}:${part}`;
	}

	cursor(name: string): string {
		return `${this.prefix}:cursor:${name}`;
	}

	breaker(target: string): string {
		return `${this.prefix}:breaker:${target}`;
	}
}
