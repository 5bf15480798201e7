/**
 * Merges calls that arrive while one is in flight into the next one: the first call goes at once
 * (no added latency when idle), and under load one Redis script serves many messages. Each
 * caller gets the reply of the call that carried its entries.
 */
export class Coalescer<T, R> {
	private waiting: Array<{ entries: T[]; resolve(reply: R): void; reject(error: unknown): void }> =
		[];
	private running = false;

	constructor(
		private readonly run: (entries: T[]) => Promise<R>,
		/** Most entries one call carries. */
		private readonly maxEntries = 500,
	) {}

	submit(entries: T[]): Promise<R> {
		return new Promise<R>((resolve, reject) => {
			this.waiting.push({ entries, resolve, reject });
			if (!this.running) void this.drain();
		});
	}

	private async drain(): Promise<void> {
		this.running = true;
		while (this.waiting.length > 0) {
			const group = [];
			let size = 0;
			while (
				this.waiting.length > 0 &&
				(size === 0 || size + this.waiting[0].entries.length <= this.maxEntries)
			) {
				const next = this.waiting.shift()!;
				size += next.entries.length;
				group.push(next);
			}
			try {
				const reply = await this.run(group.flatMap((g) => g.entries));
				for (const g of group) g.resolve(reply);
			} catch (error) {
				for (const g of group) g.reject(error);
			}
		}
		this.running = false;
	}
}
