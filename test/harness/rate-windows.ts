/** Arrival-time statistics shared by the limiter tests and the rate-limit benchmark. */
export interface Grant {
	at: number;
	cost: number;
	caller: number;
}

/** The largest total cost inside any window of `windowMs` (two pointers over sorted grants). */
export function maxInWindow(grants: Grant[], windowMs: number): number {
	const sorted = [...grants].sort((a, b) => a.at - b.at);
	let best = 0;
	let sum = 0;
	let start = 0;
	for (const grant of sorted) {
		sum += grant.cost;
		while (grant.at - sorted[start].at >= windowMs) sum -= sorted[start++].cost;
		best = Math.max(best, sum);
	}
	return best;
}

export function percentile(values: number[], p: number): number {
	if (values.length === 0) return 0;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
