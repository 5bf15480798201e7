import { join } from 'node:path';

import {
	killN8nDuringCampaign,
	resultLine,
	startKillN8nStack,
	type KillN8nStack,
} from '../chaos/kill-n8n.chaos';
import { getStack } from './helpers';

/**
 * kill -9 of n8n mid-campaign, then a restart on the same folder and port (a private n8n: the
 * shared one must survive). `hold`: nothing sent twice, the cut-off recipients held as in_doubt,
 * and their replay reaches every recipient the sink had not seen exactly once. `retry`: nothing
 * lost, duplicates only among what was in flight. The intake execution waits through it all.
 */
const RECIPIENTS = 600;

describe('e-mail campaign: kill -9 of n8n mid-campaign', () => {
	jest.setTimeout(12 * 60_000);
	let stack: KillN8nStack;

	beforeAll(async () => {
		const shared = getStack();
		stack = await startKillN8nStack({
			dir: join(shared.runDir, 'kill-n8n'),
			tarball: shared.tarball,
			redisUrl: shared.redisUrl,
		});
	});

	afterAll(async () => {
		await stack?.stop();
	});

	it('inDoubt hold: 0 duplicates, cut-off recipients held, their replay completes the campaign', async () => {
		const result = await killN8nDuringCampaign(stack, { inDoubt: 'hold', recipients: RECIPIENTS });
		process.stderr.write(`${resultLine(result)}\n`);
		// Any other class (e.g. http_404 while n8n registers its webhooks after the restart) is a loss.
		expect(result.otherDeadLetters).toEqual({});
		expect(result).toMatchObject({
			lost: 0,
			duplicates: 0,
			falseSuccesses: 0,
			intake: { beforeKill: 'waiting', afterRestart: 'waiting', final: 'success' },
		});
		expect(result.held).toBeGreaterThan(0);
		expect(result.held).toBeLessThanOrEqual(result.inFlightAtKill);
		expect(result.intake.reportInDoubt).toBe(result.held);
		expect(result.delivered + result.held - result.heldDelivered).toBe(RECIPIENTS);
		expect(result.replay).toEqual({
			replayed: result.held,
			newlyDelivered: result.held - result.heldDelivered,
			duplicatesAmongUnseen: 0,
			duplicatesAmongSeen: result.heldDelivered,
		});
	});

	it('inDoubt retry: 0 lost, duplicates no more than the messages in flight at the kill', async () => {
		const result = await killN8nDuringCampaign(stack, { inDoubt: 'retry', recipients: RECIPIENTS });
		process.stderr.write(`${resultLine(result)}\n`);
		// Any other class (e.g. http_404 while n8n registers its webhooks after the restart) is a loss.
		expect(result.otherDeadLetters).toEqual({});
		expect(result).toMatchObject({
			lost: 0,
			held: 0,
			falseSuccesses: 0,
			delivered: RECIPIENTS,
			intake: {
				beforeKill: 'waiting',
				afterRestart: 'waiting',
				final: 'success',
				reportInDoubt: 0,
			},
		});
		expect(result.duplicates).toBeLessThanOrEqual(result.inFlightAtKill);
	});
});
