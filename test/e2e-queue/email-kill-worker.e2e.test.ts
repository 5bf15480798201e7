import { join } from 'node:path';

import {
	killWorkerDuringCampaign,
	killWorkerResultLine,
	startKillWorkerStack,
	type KillWorkerStack,
} from '../chaos/kill-worker.chaos';
import { getStack } from '../e2e/helpers';

/**
 * kill -9 of one of two n8n queue-mode workers mid-campaign (a deployment of its own: the shared
 * one must keep both). n8n does not run the dead worker's executions again; with in-doubt `hold`
 * the service holds the recipients of the cut-off chunks, sends nothing twice and loses nothing,
 * and the operator's replay reaches every held recipient the sink had not seen exactly once.
 */
const RECIPIENTS = 600;

describe('e-mail campaign on queue mode: kill -9 of one worker mid-campaign', () => {
	jest.setTimeout(8 * 60_000);
	let stack: KillWorkerStack;

	beforeAll(async () => {
		const shared = getStack();
		stack = await startKillWorkerStack({
			dir: join(shared.runDir, 'kill-worker'),
			tarball: shared.tarball,
			redisUrl: shared.redisUrl,
		});
	});

	afterAll(async () => {
		await stack?.stop();
	});

	it("inDoubt hold: 0 lost, 0 duplicates, the dead worker's chunks held, then replayed once", async () => {
		const result = await killWorkerDuringCampaign(stack, {
			inDoubt: 'hold',
			recipients: RECIPIENTS,
		});
		process.stderr.write(`${killWorkerResultLine(result)}\n`);
		// Both workers were running the campaign's chunks when one died.
		expect(Object.values(result.startedByKill).every((count) => count > 0)).toBe(true);
		expect(result.otherDeadLetters).toEqual({});
		expect(result).toMatchObject({
			lost: 0,
			duplicates: 0,
			falseSuccesses: 0,
			intake: { beforeKill: 'waiting', afterRestart: 'waiting', final: 'success' },
		});
		// Only what the dead worker had leased is held: the other worker's chunks completed.
		expect(result.held).toBeGreaterThan(0);
		expect(result.held).toBeLessThan(result.inFlightAtKill);
		expect(result.intake.reportInDoubt).toBe(result.held);
		expect(result.delivered + result.held - result.heldDelivered).toBe(RECIPIENTS);
		expect(result.replay).toEqual({
			replayed: result.held,
			newlyDelivered: result.held - result.heldDelivered,
			duplicatesAmongUnseen: 0,
			duplicatesAmongSeen: result.heldDelivered,
		});
	});
});
