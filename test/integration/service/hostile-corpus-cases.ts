/**
 * The hostile corpus, generated from the OpenAPI document: for every route, requests a hostile
 * client would send, each with the answer it must get (see hostile-corpus.test.ts).
 */

interface JsonSchema {
	type?: string | string[];
	properties?: Record<string, JsonSchema>;
	required?: string[];
	items?: JsonSchema;
	enum?: unknown[];
	anyOf?: JsonSchema[];
	oneOf?: JsonSchema[];
	pattern?: string;
	format?: string;
	minimum?: number;
	maximum?: number;
	minItems?: number;
	minLength?: number;
	additionalProperties?: unknown;
}

export interface Operation {
	method: string;
	path: string;
	query: Array<{ name: string; schema: JsonSchema }>;
	body?: JsonSchema;
}

export interface Case {
	label: string;
	method: string;
	path: string;
	headers?: Record<string, string>;
	body?: string | Buffer;
	key?: string | null;
	/** Exact status expected (else any 4xx or 2xx, never 5xx). */
	status?: number;
	/** The error message or details must mention this. */
	mentions?: string;
}

export const MAX_BODY_BYTES = 1024 * 1024;
export const BATCH = 'corpus-b';
export const LIMITER = 'corpus-l';
export const JSON_TYPE = { 'content-type': 'application/json' };

const variants = (schema: JsonSchema): JsonSchema[] => [
	schema,
	...(schema.anyOf ?? []).flatMap(variants),
	...(schema.oneOf ?? []).flatMap(variants),
];
const typesOf = (schema: JsonSchema): string[] =>
	variants(schema).flatMap((v) => (Array.isArray(v.type) ? v.type : v.type ? [v.type] : []));
const jsonType = (value: unknown): string =>
	value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
/** Whether a JSON value of this type could be valid here (integer schemas take numbers). */
const accepts = (schema: JsonSchema, value: unknown): boolean => {
	const types = typesOf(schema);
	if (types.length === 0) return true;
	const type = jsonType(value);
	return types.includes(type) || (type === 'number' && types.includes('integer'));
};

/** A valid value: required properties only, the first enum member, the smallest allowed number. */
function sample(schema: JsonSchema): unknown {
	const first = variants(schema).find((v) => v.type || v.enum) ?? schema;
	if (first.enum) return first.enum[0];
	const type = Array.isArray(first.type) ? first.type[0] : first.type;
	switch (type) {
		case 'string':
			if (first.format === 'uri') return 'http://127.0.0.1:9/hook';
			return 'k1';
		case 'integer':
		case 'number':
			return first.minimum ?? 1;
		case 'boolean':
			return false;
		case 'array':
			return Array.from({ length: Math.max(1, first.minItems ?? 1) }, () =>
				sample(first.items ?? {}),
			);
		case 'object':
			return Object.fromEntries(
				(first.required ?? []).map((name) => [name, sample(first.properties?.[name] ?? {})]),
			);
		default:
			return null;
	}
}

/** Values of the wrong JSON type, out of range, or huge, for one field. */
function badValues(schema: JsonSchema): Array<[string, unknown]> {
	const candidates: Array<[string, unknown]> = [
		['a string', 'not-a-valid-value !'],
		['a number', 12345.5],
		['a boolean', true],
		['null', null],
		['an object', { nested: 1 }],
		['a list', [1, 'two']],
	];
	const bad = candidates.filter(([, value]) => !accepts(schema, value));
	for (const v of variants(schema)) {
		if (v.minimum !== undefined) bad.push(['below the minimum', v.minimum - 1]);
		if (v.maximum !== undefined) bad.push(['above the maximum', v.maximum + 1]);
		if (v.maximum !== undefined) bad.push(['a huge number', 1e308]);
		if (v.type === 'integer') bad.push(['a fraction', (v.minimum ?? 0) + 0.5]);
		if (v.enum) bad.push(['no option', 'NOT_AN_OPTION']);
		if (v.pattern) bad.push(['a huge string', 'x'.repeat(200_000)]);
		if (v.pattern) bad.push(['a bad id', '-bad id/..']);
		if (v.type === 'array' && v.minItems) bad.push(['an empty list', []]);
	}
	return bad;
}

export function operationsOf(document: {
	paths: Record<string, Record<string, unknown>>;
}): Operation[] {
	const operations: Operation[] = [];
	for (const [path, methods] of Object.entries(document.paths)) {
		for (const [method, raw] of Object.entries(methods)) {
			const op = raw as {
				parameters?: Array<{ name: string; in: string; schema: JsonSchema }>;
				requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
			};
			operations.push({
				method: method.toUpperCase(),
				path,
				query: (op.parameters ?? []).filter((p) => p.in === 'query'),
				body: op.requestBody?.content['application/json'].schema,
			});
		}
	}
	return operations;
}

export const fill = (path: string, id?: string): string =>
	path
		.replace('{batchId}', id ?? BATCH)
		.replace('{limiterKey}', id ?? LIMITER)
		.replace(/\{[A-Za-z]+\}/g, id ?? 'x1');
export const hasBodyMethod = (method: string) => ['POST', 'PUT', 'PATCH'].includes(method);
export const baseBody = (op: Operation): Record<string, unknown> => ({
	...(sample(op.body ?? { type: 'object' }) as Record<string, unknown>),
	// A valid acquire must not hold the corpus for maxWaitMs.
	...(op.path.endsWith('/acquire') ? { maxWaitMs: 0 } : {}),
});

function bodyCases(op: Operation): Case[] {
	const path = fill(op.path);
	const at = (label: string, extra: Omit<Case, 'label' | 'method' | 'path'>): Case => ({
		label: `${op.method} ${op.path}: ${label}`,
		method: op.method,
		path,
		...extra,
	});
	const json = (label: string, body: string | Buffer, status?: number, mentions?: string) =>
		at(label, { headers: JSON_TYPE, body, status, mentions });
	const cases: Case[] = [
		...[
			['text/plain', 'text/plain'],
			['a form', 'application/x-www-form-urlencoded'],
			['XML', 'application/xml'],
			['multipart', 'multipart/form-data; boundary=x'],
			['UTF-16 JSON', 'application/json; charset=utf-16'],
			['JSON lookalike', 'application/jsonx'],
		].map(([label, type]) =>
			at(label, { headers: { 'content-type': type }, body: '{"a":1}', status: 415 }),
		),
		at('no content type', { body: '{"a":1}', status: 415 }),
		...[
			'{',
			'{"a":}',
			'[1,2',
			'nul',
			'{"a":1}}',
			'{"a":1,}',
			"{'a':1}",
			'{"a":NaN}',
			'{"a":1e400x}',
		].map((text) => json(`broken JSON ${text}`, text, 400)),
		json(
			'invalid UTF-8',
			Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
			400,
		),
		json('a byte-order mark', '\ufeff{}'),
		...['[]', '"text"', '42', 'null', 'true'].map((text) => json(`top-level ${text}`, text, 400)),
		json(
			'objects nested 10,000 deep',
			`{"a":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_001)}`,
			400,
			'64',
		),
		json(
			'lists nested 200,000 deep',
			`{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
			400,
			'64',
		),
		json('a __proto__ key', '{"__proto__":{"polluted":1}}', 400, '__proto__'),
		json('a nested __proto__ key', '{"x":[{"y":{"__proto__":1}}]}', 400, 'x.0.y.__proto__'),
		json('a body over MAX_BODY_BYTES', `{"a":"${'x'.repeat(MAX_BODY_BYTES)}"}`, 413),
		at('gzip that is not', {
			headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
			body: '{"a":1}',
			status: 400,
		}),
		at('an unknown encoding', {
			headers: { ...JSON_TYPE, 'content-encoding': 'snappy' },
			body: '{"a":1}',
			status: 415,
		}),
	];
	if (!op.body) return cases;
	const base = baseBody(op);
	for (const [field, schema] of Object.entries(op.body.properties ?? {})) {
		for (const [what, value] of badValues(schema)) {
			cases.push(
				json(`${field} as ${what}`, JSON.stringify({ ...base, [field]: value }), 400, field),
			);
		}
	}
	for (const field of op.body.required ?? []) {
		const { [field]: _dropped, ...rest } = base;
		cases.push(json(`without ${field}`, JSON.stringify(rest), 400, field));
	}
	return cases;
}

export function everyCase(operations: Operation[]): Case[] {
	const cases: Case[] = [];
	const paths = [...new Set(operations.map((op) => op.path))];
	for (const op of operations) {
		const path = fill(op.path);
		const label = `${op.method} ${op.path}`;
		const body = hasBodyMethod(op.method) ? '{}' : undefined;
		const headers = body ? JSON_TYPE : undefined;
		cases.push(
			{ label: `${label}: no key`, method: op.method, path, key: null, body, headers, status: 401 },
			{
				label: `${label}: a wrong key`,
				method: op.method,
				path,
				key: 'k'.repeat(24),
				body,
				headers,
				status: 401,
			},
			{
				label: `${label}: an empty key`,
				method: op.method,
				path,
				key: '',
				body,
				headers,
				status: 401,
			},
		);
		if (hasBodyMethod(op.method)) cases.push(...bodyCases(op));
		if (op.path.includes('{')) {
			for (const id of [
				'-bad',
				'a'.repeat(200),
				'a%20b',
				'%E0%A4%A',
				'%ZZ',
				'..',
				'%C3%A9t%C3%A9',
				'a%2Fb',
				'%00',
			]) {
				cases.push({
					label: `${label}: id ${id.slice(0, 20)}`,
					method: op.method,
					path: fill(op.path, id),
					headers,
					body: op.body ? JSON.stringify(baseBody(op)) : body,
					status: 400,
				});
			}
		}
		for (const { name, schema } of op.query) {
			const values: string[] = ['', '\u0000'];
			if (typesOf(schema).some((t) => t === 'integer' || t === 'number'))
				values.push('abc', '1.5', '1e99', '-5');
			if (variants(schema).some((v) => v.enum)) values.push('NOPE');
			if (variants(schema).some((v) => v.pattern)) values.push('-bad!', 'x'.repeat(300));
			for (const value of values) {
				const strict = value.length > 1;
				cases.push({
					label: `${label}: ?${name}=${value.slice(0, 20)}`,
					method: op.method,
					path: `${path}?${name}=${encodeURIComponent(value)}`,
					status: strict ? 400 : undefined,
					mentions: strict ? name : undefined,
				});
			}
			cases.push({
				label: `${label}: ?${name} badly percent-encoded`,
				method: op.method,
				path: `${path}?${name}=%ZZ%E0%A4%A`,
				status: 400,
			});
			cases.push({
				label: `${label}: ?${name} twice`,
				method: op.method,
				path: `${path}?${name}=1&${name}=2`,
				status: 400,
			});
		}
	}
	// Routes outside the document (liveness, metrics, the document itself) must refuse too.
	const undocumented = ['/health', '/metrics', '/openapi.json'];
	for (const path of [...paths, ...undocumented]) {
		const documented = operations.filter((op) => op.path === path).map((op) => op.method);
		for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
			if (documented.includes(method) || (method === 'GET' && undocumented.includes(path))) {
				continue;
			}
			cases.push({
				label: `${method} ${path}: wrong method`,
				method,
				path: fill(path),
				headers: hasBodyMethod(method) ? JSON_TYPE : undefined,
				body: hasBodyMethod(method) ? '{}' : undefined,
				status: documented.length > 0 ? 405 : undefined,
				mentions: documented[0],
			});
		}
	}
	return cases;
}
