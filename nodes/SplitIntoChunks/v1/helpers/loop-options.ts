import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { BATCH_LIMITS } from '../../../shared/contract';
import { checkNumber } from '../../../shared/parameters';
import type { SubmitOptions } from './batch-settings';
import type { LoopSettings } from './loop';

export interface LoopOptions extends SubmitOptions {
	loopLeaseMs?: number;
	maxRetryWaitSeconds?: number;
	recordOnReturn?: boolean;
}

const { leaseMs } = BATCH_LIMITS;
/** A chunk's lease in a loop: long, since a resumed run takes the chunk back at once anyway. */
const LOOP_LEASE_MS = 600_000;
const MAX_RETRY_WAIT_SECONDS = 86_400;

/** Options only a loop has (Loop, and Ranges as a Loop). */
export const loopOptions = {
	loopLeaseMs: {
		displayName: 'Chunk Lease (Milliseconds)',
		name: 'loopLeaseMs',
		type: 'number',
		typeOptions: { minValue: leaseMs.min, maxValue: leaseMs.max },
		default: LOOP_LEASE_MS,
		description:
			"How long the body may work one chunk. A run started again after a crash takes its chunk back at once; the lease only matters when nobody resumes: then the chunk's items count as in doubt.",
	},
	maxRetryWaitSeconds: {
		displayName: 'Max Wait for Retries (Seconds)',
		name: 'maxRetryWaitSeconds',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: MAX_RETRY_WAIT_SECONDS },
		default: 300,
		description:
			'When only items waiting for a retry are left, how long the loop waits for them (the service holds the request, no timers). Past it the node stops with an error, and a later run with the same batch key goes on.',
	},
	recordOnReturn: {
		displayName: 'Record When Handed Back',
		name: 'recordOnReturn',
		type: 'boolean',
		default: false,
		description:
			"Whether the chunk's items count as succeeded once the body hands the chunk back, so the body needs no Checkpoint Record Results (faster). Items the body recorded itself (e.g. failures on an error branch) keep their record.",
	},
} satisfies Record<string, INodeProperties>;

export function readLoopSettings(this: IExecuteFunctions, options: LoopOptions): LoopSettings {
	const lease = checkNumber.call(
		this,
		options.loopLeaseMs ?? LOOP_LEASE_MS,
		'Chunk Lease (Milliseconds)',
		leaseMs,
		0,
	);
	const waitSeconds = checkNumber.call(
		this,
		options.maxRetryWaitSeconds ?? 300,
		'Max Wait for Retries (Seconds)',
		{ min: 0, max: MAX_RETRY_WAIT_SECONDS },
		0,
	);
	return {
		leaseMs: lease,
		maxRetryWaitMs: waitSeconds * 1000,
		recordOnReturn: options.recordOnReturn === true,
	};
}
