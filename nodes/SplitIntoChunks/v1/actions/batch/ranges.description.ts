import type { INodeProperties } from 'n8n-workflow';

import { optionsCollection } from '../../../../shared/node-builder';
import { pickOptions } from '../../helpers/batch-options';
import { loopOptions } from '../../helpers/loop-options';

const show = (extra: Record<string, string[]> = {}) => ({
	show: { operation: ['ranges'], ...extra },
});

export const MAX_RANGE_SIZE = 1_000_000;

/** Parameters of Ranges: how the source is paged, and whether the ranges are dispatched or looped. */
export const rangesProperties: INodeProperties[] = [
	{
		displayName: 'Paging',
		name: 'paging',
		type: 'options',
		noDataExpression: true,
		default: 'offset',
		options: [
			{
				name: 'Offset and Limit (Total Known)',
				value: 'offset',
				description: '{ chunkIndex, offset, limit } for each range of a known number of rows',
			},
			{
				name: 'Keyset (Last Keys Known)',
				value: 'keyset',
				description:
					'{ chunkIndex, afterKey, lastKey, limit }: each range starts after the last key of the one before; read with WHERE key > afterKey AND key <= lastKey',
			},
			{
				name: 'Until a Page Comes Back Short (Loop)',
				value: 'untilShort',
				description:
					'One page at a time: { chunkIndex, offset, limit, afterKey } with afterKey the last key of the page before, until a page has fewer rows than the range size',
			},
		],
		displayOptions: show(),
	},
	{
		displayName: 'Total Rows',
		name: 'totalRows',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description:
			'How many rows the source has, e.g. the count from a SELECT count(*) before this node',
		displayOptions: show({ paging: ['offset'] }),
	},
	{
		displayName: 'Last Keys of the Ranges',
		name: 'lastKeys',
		type: 'string',
		default: '={{ $json.lastKeys }}',
		description:
			'A list with the last key of each range, in key order: e.g. every 1,000th ID from a query, and the last ID',
		displayOptions: show({ paging: ['keyset'] }),
	},
	{
		displayName: 'Start After Key',
		name: 'startAfter',
		type: 'string',
		default: '',
		description:
			'The afterKey of the first range (e.g. a cursor loaded by Checkpoint); empty starts at the beginning',
		displayOptions: show({ paging: ['keyset', 'untilShort'] }),
	},
	{
		displayName: 'Range Size',
		name: 'rangeSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: MAX_RANGE_SIZE },
		default: 1000,
		description: 'Rows per range: the limit of each descriptor',
		displayOptions: show(),
	},
	{
		displayName: 'Key Field of the Rows',
		name: 'pageKeyField',
		type: 'string',
		default: 'id',
		description:
			"The field of the rows the loop body hands back whose last value becomes the next page's afterKey. Empty: offset paging only, and every item handed back counts as a row.",
		displayOptions: show({ paging: ['untilShort'] }),
	},
	{
		displayName: 'End When',
		name: 'endWhen',
		type: 'options',
		noDataExpression: true,
		default: 'short',
		options: [
			{
				name: 'A Page Has Fewer Rows Than Range Size',
				value: 'short',
				description:
					'Saves one request. Only when the source returns as many rows as asked: an API that caps its pages below Range Size would end the loop after one page.',
			},
			{
				name: 'A Page Comes Back Empty',
				value: 'empty',
				description:
					'One more request at the end, and right whatever page size the source returns (e.g. an API that caps pages at 100)',
			},
		],
		description: 'What ends the loop',
		displayOptions: show({ paging: ['untilShort'] }),
	},
	{
		displayName: 'Output',
		name: 'rangesOutput',
		type: 'options',
		noDataExpression: true,
		default: 'batch',
		options: [
			{
				name: 'Submit as a Batch',
				value: 'batch',
				description:
					'Each descriptor is an item of a batch, dispatched in chunks to a worker workflow (or worked by Checkpoint Claim); outputs the batch summary',
			},
			{
				name: 'Loop',
				value: 'loop',
				description:
					'Hand out one descriptor at a time on Chunk; the body reads that range and comes back; Done fires once',
			},
		],
		displayOptions: show({ paging: ['offset', 'keyset'] }),
	},
	{
		displayName: 'Worker Webhook URL',
		name: 'targetUrl',
		type: 'string',
		default: '',
		placeholder: 'http://localhost:5678/webhook/etl-worker',
		description:
			"Production URL of the worker workflow's Webhook; the service POSTs each chunk of descriptors there. Empty: nothing is dispatched (Checkpoint Claim works them).",
		displayOptions: show({ paging: ['offset', 'keyset'], rangesOutput: ['batch'] }),
	},
	optionsCollection('ranges', [
		{
			displayName: 'Add Fields',
			name: 'addFields',
			type: 'json',
			default: '{}',
			description:
				'A JSON object whose fields every descriptor gets, e.g. the time window of an incremental copy',
		},
		...pickOptions('adaptiveChunkSize', 'backoffInitialMs', 'backoffMaxMs', 'metadata'),
		loopOptions.loopLeaseMs,
		...pickOptions('completionUrl', 'concurrency', 'failureMinSample', 'failureRatio', 'inDoubt'),
		...pickOptions('limiterKey', 'maxAttempts'),
		loopOptions.maxRetryWaitSeconds,
		...pickOptions('milestoneUrl', 'priority'),
		{
			displayName: 'Ranges per Chunk',
			name: 'rangesPerChunk',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 1000 },
			default: 1,
			description:
				'Descriptors per worker execution when submitted as a batch (a Loop hands out one at a time)',
		},
		...pickOptions('timeoutMs'),
	]),
];
