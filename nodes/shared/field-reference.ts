import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

/**
 * n8n 2.x evaluates every expression in an isolate (its default engine, `vm`): about a
 * millisecond per expression per item, the largest cost of a 200-item chunk. Most of our
 * per-item parameters are nothing but fields (`{{ $json.key }}`, the defaults'
 * `{{ $json.itemKey ?? $json.key ?? $json.id }}`, `{{ $('Claim').item.json.key }}`), which can be
 * read from the item directly. Only values that read exactly as n8n's would are taken; anything
 * else (an object, a property that is not the item's own, an access n8n would fail on) is left
 * to n8n, so its value and its errors stay n8n's.
 */

/** One operand: a field of the input item, or of the item a node paired with it. */
export interface FieldReference {
	/** The node whose paired item holds the field (`$('Claim').item`); undefined for `$json`. */
	node?: string;
	/** Property names, each with whether it was reached by `?.` (undefined instead of an error). */
	path: Array<{ name: string; optional: boolean }>;
}

const NAME = '[A-Za-z_$][\\w$]*';
const STEPS = `(?:\\??\\.${NAME})+`;
const OPERAND = `(?:\\$json|\\$\\(\\s*(?:'[^'\\\\]+'|"[^"\\\\]+")\\s*\\)\\.item\\.json)${STEPS}`;
const WHOLE = new RegExp(`^=\\{\\{\\s*(${OPERAND}(?:\\s*\\?\\?\\s*${OPERAND})*)\\s*\\}\\}\\s*$`);
const STEP = new RegExp(`(\\?)?\\.(${NAME})`, 'g');
const ONE = new RegExp(
	`^(?:\\$json|\\$\\(\\s*(?:'([^']+)'|"([^"]+)")\\s*\\)\\.item\\.json)(${STEPS})$`,
);

/**
 * The operands of a parameter that is one field or a `??` chain of fields, in order; undefined
 * for any other value.
 */
export function fieldReferences(
	ctx: IExecuteFunctions,
	name: string,
): FieldReference[] | undefined {
	const raw = (ctx.getNode().parameters ?? {})[name];
	const whole = typeof raw === 'string' ? WHOLE.exec(raw) : null;
	if (!whole) return undefined;
	const references: FieldReference[] = [];
	// A node name holding '??' splits wrong; such an operand does not parse and n8n evaluates it.
	for (const operand of whole[1].split('??')) {
		const one = ONE.exec(operand.trim());
		if (!one) return undefined;
		const [, single, double, steps] = one;
		const path = [...steps.matchAll(STEP)].map((step) => ({
			name: step[2],
			optional: step[1] === '?',
		}));
		references.push({ node: single ?? double, path });
	}
	return references;
}

const LEAVE_TO_N8N = Symbol('leave to n8n');
type Read = string | number | boolean | null | undefined | typeof LEAVE_TO_N8N;

/** What `json.a.b` evaluates to in JavaScript, where that is plainly readable. */
function valueAt(json: unknown, path: FieldReference['path']): Read {
	let value = json;
	for (const step of path) {
		if (value === null || value === undefined) {
			// `?.` on nothing is undefined; `.` on nothing is an error n8n should report.
			return step.optional ? undefined : LEAVE_TO_N8N;
		}
		if (typeof value !== 'object') return LEAVE_TO_N8N;
		if (Object.hasOwn(value, step.name)) value = (value as Record<string, unknown>)[step.name];
		else if (step.name in value) return LEAVE_TO_N8N;
		else value = undefined;
	}
	const kind = typeof value;
	if (value === null || value === undefined) return value;
	return kind === 'string' || kind === 'number' || kind === 'boolean'
		? (value as string | number | boolean)
		: LEAVE_TO_N8N;
}

/** The JSON of the item that node paired with this input item, through n8n's own data proxy. */
function pairedJson(ctx: IExecuteFunctions, node: string, itemIndex: number): unknown {
	const proxy = ctx.getWorkflowDataProxy(itemIndex) as { $?: (name: string) => unknown };
	const paired = (proxy.$?.(node) as { item?: { json?: unknown } } | undefined)?.item;
	return paired?.json;
}

/**
 * Reads a field parameter (see fieldReferences) for one item: the first operand that is not
 * null or undefined, when it is a string, number or boolean. Returns undefined when n8n should
 * evaluate it instead: no operand has a value, one holds something else, or one would fail.
 */
export function fieldReader(ctx: IExecuteFunctions) {
	let items: INodeExecutionData[] | undefined;
	return (
		references: FieldReference[],
		itemIndex: number,
	): string | number | boolean | undefined => {
		for (const reference of references) {
			let json: unknown;
			try {
				json = reference.node
					? pairedJson(ctx, reference.node, itemIndex)
					: (items ??= ctx.getInputData())[itemIndex]?.json;
			} catch {
				// No such node, or no pairing: n8n's expression says so, in its words.
				return undefined;
			}
			if (reference.node && (json === null || typeof json !== 'object')) return undefined;
			const value = valueAt(json, reference.path);
			if (value === LEAVE_TO_N8N) return undefined;
			if (value !== null && value !== undefined) return value;
		}
		return undefined;
	};
}
