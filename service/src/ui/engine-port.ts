/**
 * What the operator view needs of the batch engine, and nothing more: the page is built against
 * this port so the engine can change behind it (engine-adapter.ts builds it from the engine).
 */
import type { BatchState } from '../../../nodes/shared/contract';
import type { LimiterState } from '../limits/limiter';

export type { BatchState };

export interface ChunkExecution {
	id: string;
	workflowId: string;
	status: string;
	at: string;
	/** The execution in the n8n editor, when the service knows N8N_EDITOR_URL. */
	url?: string;
}

export interface UiChunk {
	chunkIndex: number;
	items: number;
	/** Items of the chunk not finished yet. */
	left: number;
	/** Its latest n8n executions (from Claim and Record Results), newest last. */
	executions: ChunkExecution[];
}

/** The progress answer of GET /v1/batches/:id, plus what the page shows when the engine has it. */
export interface UiProgress {
	batchId: string;
	batchKey: string;
	state: BatchState;
	sealed: boolean;
	counts: {
		total: number;
		pending: number;
		inFlight: number;
		retrying: number;
		succeeded: number;
		skipped: number;
		deadLettered: number;
	};
	percent: number;
	itemsPerSecond: number;
	etaSeconds: number | null;
	concurrency: number;
	chunks: { total: number; done: number };
	errorClasses: Record<string, { count: number; samples: Array<{ key: string; message: string }> }>;
	breaker: {
		state: 'closed' | 'open' | 'half_open';
		consecutiveFailures: number;
		openedAt: string | null;
	} | null;
	abortReason: string | null;
	createdAt: string;
	startedAt: string | null;
	finishedAt: string | null;
	meta: Record<string, unknown>;
}

export interface UiDeadLetter {
	key: string;
	class: string;
	message: string;
	attempts: number;
	httpCode?: number;
	chunkIndex: number;
	firstAt: string;
	lastAt: string;
}

export type ControlOp = 'pause' | 'resume' | 'cancel';

export interface EnginePort {
	/** Newest first; nextCursor is null on the last page. */
	list(
		state: BatchState | undefined,
		limit: number,
		cursor: number,
	): Promise<{ batches: UiProgress[]; nextCursor: string | null }>;
	/** Throws an error with status 404 when there is no such batch. */
	progress(batchId: string): Promise<UiProgress>;
	control(batchId: string, op: ControlOp): Promise<UiProgress>;
	replay(batchId: string, errorClass?: string): Promise<{ replayed: number }>;
	deadLetters(
		batchId: string,
		limit: number,
		errorClass?: string,
	): Promise<{ deadLetters: UiDeadLetter[]; total: number }>;
	report(batchId: string): Promise<unknown>;
	/** Chunks in index order from `cursor`, each with its latest n8n executions. */
	chunks(
		batchId: string,
		limit: number,
		cursor: number,
	): Promise<{ chunks: UiChunk[]; nextCursor: string | null }>;
	/** The batch's limiter, or null when it has none. */
	limiter(batchId: string): Promise<LimiterState | null>;
	/**
	 * Calls `listener` with a batch id whenever that batch changed, in any process; one Redis
	 * subscription per process however many listeners. Answers the unsubscribe function.
	 */
	onChange(listener: (batchId: string) => void): () => void;
	/** Releases what onChange opened (the service's shutdown). */
	close(): Promise<void>;
}
