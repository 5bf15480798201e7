import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DASHBOARD = path.resolve(__dirname, '../../../service/grafana/batch-guardian.json');

const KEYWORDS = new Set([
	'by',
	'without',
	'on',
	'ignoring',
	'group_left',
	'group_right',
	'and',
	'or',
	'unless',
	'bool',
	'offset',
]);

interface Panel {
	title?: string;
	targets?: Array<{ expr?: string }>;
	panels?: Panel[];
}

/** Every PromQL expression of the dashboard's panels, with the panel title. */
export function dashboardQueries(): Array<{ title: string; expr: string }> {
	const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
	const out: Array<{ title: string; expr: string }> = [];
	const walk = (panels: Panel[]): void => {
		for (const panel of panels) {
			for (const target of panel.targets ?? [])
				if (target.expr) out.push({ title: panel.title ?? '?', expr: target.expr });
			walk(panel.panels ?? []);
		}
	};
	walk(dashboard.panels);
	return out;
}

/** Metrics the template variables read (label_values(metric, label)). */
export function variableMetrics(): string[] {
	const text = readFileSync(DASHBOARD, 'utf8');
	return [...text.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)].map((m) => m[1]);
}

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
	const bare = expr
		.replace(/"(?:[^"\\]|\\.)*"/g, '""')
		.replace(/\{[^}]*\}/g, '')
		.replace(/\[[^\]]*\]/g, '')
		.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
	const names = new Set<string>();
	for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
		const after = bare.slice((match.index ?? 0) + match[0].length).trimStart();
		if (after.startsWith('(') || KEYWORDS.has(match[0])) continue;
		names.add(match[0]);
	}
	return [...names];
}

/** Grafana's variables, as a query through Prometheus's own API sees them. */
export function withVariables(expr: string): string {
	return expr.replaceAll('$__rate_interval', '1m').replace(/\$[a-zA-Z_]+/g, '.*');
}
