import { Router } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process; features create their metrics on it with the helpers below. */
export const registry = new Registry();
registry.setDefaultLabels({ service: 'batch-guardian' });
collectDefaultMetrics({ register: registry });

export function counter<L extends string>(
	name: string,
	help: string,
	labelNames: L[] = [],
): Counter<L> {
	return (
		(registry.getSingleMetric(name) as Counter<L>) ??
		new Counter({ name, help, labelNames, registers: [registry] })
	);
}

export function gauge<L extends string>(
	name: string,
	help: string,
	labelNames: L[] = [],
): Gauge<L> {
	return (
		(registry.getSingleMetric(name) as Gauge<L>) ??
		new Gauge({ name, help, labelNames, registers: [registry] })
	);
}

export function histogram<L extends string>(
	name: string,
	help: string,
	labelNames: L[] = [],
	buckets?: number[],
): Histogram<L> {
	return (
		(registry.getSingleMetric(name) as Histogram<L>) ??
		new Histogram({ name, help, labelNames, buckets, registers: [registry] })
	);
}

export const httpRequests = counter('bg_http_requests_total', 'HTTP requests by route and status', [
	'method',
	'route',
	'status',
]);

export function metricsRouter(): Router {
	const router = Router();
	router.get('/metrics', async (_req, res) => {
		res.type(registry.contentType).send(await registry.metrics());
	});
	return router;
}
