import { killServiceDirect } from '../../chaos/kill-service-direct.chaos';

/**
 * Acceptance of direct delivery: 10,000 recipients (some 451 once, some 550 5.1.1) sent by the
 * service itself to the real SMTP sink, its process killed -9 twice mid-run and restarted. Each
 * recipient is delivered once (counted by Message-ID at the sink) or dead-lettered with its code;
 * with in-doubt hold, those inside a transaction at a kill are held, never sent again.
 */
describe('direct delivery: the service stopped mid-campaign', () => {
	it('loses none and sends none twice; held ones were in flight at a kill', async () => {
		const result = await killServiceDirect({ items: 10_000, kills: 2, inDoubt: 'hold' });
		process.stderr.write(`${JSON.stringify(result)}\n`);
		expect(result).toMatchObject({
			lost: 0,
			duplicates: 0,
			succeededNotOnce: 0,
			refusedButDelivered: 0,
			mismatched: 0,
			otherDeadLetters: {},
		});
		// 2 % of the recipients are unknown to the sink: refused (or held), never succeeded.
		expect(result.mismatched).toBe(0);
		expect(result.refused).toBeGreaterThanOrEqual(200 - result.held);
		// At most the messages on the wire at the two kills (40 pooled connections each).
		expect(result.held).toBeLessThanOrEqual(2 * 40);
	}, 300_000);

	it('stops gracefully on SIGTERM: open transactions finish and are recorded, none held', async () => {
		const result = await killServiceDirect({ items: 3000, kills: 1, signal: 'SIGTERM' });
		process.stderr.write(`${JSON.stringify(result)}\n`);
		expect(result).toMatchObject({
			lost: 0,
			duplicates: 0,
			held: 0,
			succeededNotOnce: 0,
			mismatched: 0,
			otherDeadLetters: {},
		});
	}, 300_000);
});
