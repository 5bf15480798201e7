import type { EnginePort, UiProgress } from './engine-port';

/** One open event stream: every batch, or one batch when `batchId` is set. */
export interface Viewer {
	batchId?: string;
	/** Writes one SSE frame; false when the viewer cannot keep up (it is then dropped). */
	write(frame: string): boolean;
	end(): void;
}

export interface LiveOptions {
	/** Least time between two progress reads of one batch, whatever the event rate. @defaultValue 500 */
	minIntervalMs: number;
	/**
	 * Watched running batches are read again this often without an event: Redis pub/sub drops
	 * messages across a reconnect, and a batch's rate and ETA move between events. @defaultValue 5000
	 */
	resyncMs: number;
	/** Batches remembered for resync; the oldest are forgotten past this. @defaultValue 1000 */
	maxTracked: number;
	/** A comment line keeps proxies from closing an idle stream. @defaultValue 15000 */
	keepAliveMs: number;
}

interface Tracked {
	lastReadAt: number;
	state?: string;
	timer?: NodeJS.Timeout;
	reading: boolean;
	again: boolean;
}

/**
 * Fans the engine's change events out to every open event stream: a batch's progress is read at
 * most once per minIntervalMs and the same frame goes to all its viewers, so 50 viewers cost what
 * one does.
 */
export class LiveProgress {
	private readonly options: LiveOptions;
	private readonly viewers = new Set<Viewer>();
	private readonly tracked = new Map<string, Tracked>();
	private unsubscribe?: () => void;
	private resync?: NodeJS.Timeout;
	private keepAlive?: NodeJS.Timeout;
	/** Progress reads done, for tests and the log: proof that reads do not scale with viewers. */
	reads = 0;

	constructor(
		private readonly port: EnginePort,
		options: Partial<LiveOptions> = {},
		private readonly onError: (batchId: string, error: unknown) => void = () => undefined,
	) {
		this.options = {
			minIntervalMs: 500,
			resyncMs: 5000,
			maxTracked: 1000,
			keepAliveMs: 15_000,
			...options,
		};
	}

	get viewerCount(): number {
		return this.viewers.size;
	}

	/** Adds a viewer; answers its detach function. The first viewer subscribes to changes. */
	attach(viewer: Viewer): () => void {
		this.viewers.add(viewer);
		if (!this.unsubscribe) this.start();
		viewer.write(': connected\n\n');
		if (viewer.batchId) this.changed(viewer.batchId, true);
		return () => this.detach(viewer);
	}

	/** A batch the page just showed (from a list or a read): keep it fresh while it runs. */
	seen(progress: UiProgress): void {
		this.track(progress.batchId).state = progress.state;
	}

	/** Ends every stream and the subscription (service shutdown). */
	close(): void {
		for (const viewer of [...this.viewers]) {
			viewer.end();
			this.detach(viewer);
		}
		for (const entry of this.tracked.values()) clearTimeout(entry.timer);
		this.tracked.clear();
	}

	private start(): void {
		this.unsubscribe = this.port.onChange((batchId) => this.changed(batchId));
		this.resync = setInterval(() => {
			for (const [batchId, entry] of this.tracked)
				if (entry.state === 'running') this.changed(batchId);
		}, this.options.resyncMs);
		this.keepAlive = setInterval(
			() => this.broadcast(undefined, ': keep-alive\n\n'),
			this.options.keepAliveMs,
		);
		this.resync.unref();
		this.keepAlive.unref();
	}

	private detach(viewer: Viewer): void {
		if (!this.viewers.delete(viewer) || this.viewers.size > 0) return;
		this.unsubscribe?.();
		this.unsubscribe = undefined;
		clearInterval(this.resync);
		clearInterval(this.keepAlive);
	}

	private changed(batchId: string, now = false): void {
		if (!this.watched(batchId)) return;
		const entry = this.track(batchId);
		if (entry.reading) {
			entry.again = true;
			return;
		}
		if (entry.timer) return;
		const wait = now ? 0 : Math.max(0, entry.lastReadAt + this.options.minIntervalMs - Date.now());
		entry.timer = setTimeout(() => void this.read(batchId, entry), wait);
	}

	private async read(batchId: string, entry: Tracked): Promise<void> {
		entry.timer = undefined;
		entry.reading = true;
		entry.lastReadAt = Date.now();
		this.reads++;
		try {
			const progress = await this.port.progress(batchId);
			entry.state = progress.state;
			this.broadcast(batchId, `event: progress\ndata: ${JSON.stringify(progress)}\n\n`);
		} catch (error) {
			if ((error as { status?: number }).status === 404) {
				this.tracked.delete(batchId);
				this.broadcast(batchId, `event: gone\ndata: ${JSON.stringify({ batchId })}\n\n`);
			} else this.onError(batchId, error);
		} finally {
			entry.reading = false;
		}
		if (entry.again && this.tracked.get(batchId) === entry) {
			entry.again = false;
			this.changed(batchId);
		}
	}

	private broadcast(batchId: string | undefined, frame: string): void {
		for (const viewer of this.viewers) {
			if (batchId && viewer.batchId && viewer.batchId !== batchId) continue;
			if (!viewer.write(frame)) {
				viewer.end();
				this.detach(viewer);
			}
		}
	}

	private watched(batchId: string): boolean {
		for (const viewer of this.viewers)
			if (!viewer.batchId || viewer.batchId === batchId) return true;
		return false;
	}

	private track(batchId: string): Tracked {
		let entry = this.tracked.get(batchId);
		if (entry) return entry;
		if (this.tracked.size >= this.options.maxTracked) {
			const [oldest, old] = this.tracked.entries().next().value as [string, Tracked];
			clearTimeout(old.timer);
			this.tracked.delete(oldest);
		}
		entry = { lastReadAt: 0, reading: false, again: false };
		this.tracked.set(batchId, entry);
		return entry;
	}
}
