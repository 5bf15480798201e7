// Batch Guardian operator view: plain browser JavaScript, no build step. Data comes from
// /ui/api (session cookie) and live progress from the /ui/api/events stream.
'use strict';

const TERMINAL = ['completed', 'completed_with_errors', 'aborted', 'cancelled'];
const OUTCOMES = [
	['succeeded', 'Succeeded'],
	['skipped', 'Skipped (duplicate)'],
	['deadLettered', 'Dead-lettered'],
	['retrying', 'Retrying'],
	['inFlight', 'In flight'],
	['pending', 'Pending'],
	['total', 'Total'],
];
const PAGE = 200;

const state = {
	batches: new Map(), // batchId -> progress, newest first by insertion
	filter: '',
	nextCursor: null,
	selected: null,
	detail: null, // { progress, limiter, deadLetters }
	settings: { n8nEditorUrl: null },
	detailTimer: null,
};

/** h('div', {class: 'x'}, child...): DOM from data without innerHTML, so nothing is interpreted. */
function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [name, value] of Object.entries(attrs || {})) {
		if (value === undefined || value === null || value === false) continue;
		if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
		else if (name === 'style') el.style.cssText = value;
		else el.setAttribute(name, value === true ? '' : String(value));
	}
	for (const child of children.flat(Infinity)) {
		if (child === undefined || child === null || child === false) continue;
		el.append(child instanceof Node ? child : document.createTextNode(String(child)));
	}
	return el;
}

async function call(method, path, body) {
	const headers = { accept: 'application/json' };
	if (method !== 'GET') headers['x-batch-guardian-ui'] = '1';
	if (body !== undefined) headers['content-type'] = 'application/json';
	const res = await fetch('/ui/api' + path, {
		method,
		headers,
		body: body === undefined ? undefined : JSON.stringify(body),
		credentials: 'same-origin',
	});
	if (res.status === 401) {
		location.href = '/ui/login?next=' + encodeURIComponent(location.pathname + location.hash);
		throw new Error('Session ended: log in again');
	}
	const data = await res.json().catch(() => ({}));
	if (!res.ok) throw new Error((data.error && data.error.message) || 'HTTP ' + res.status);
	return data;
}

const fmt = {
	n: (value) => Number(value || 0).toLocaleString(),
	rate: (value) => (value ? `${Number(value).toLocaleString()} items/s` : '–'),
	eta(p) {
		if (TERMINAL.includes(p.state)) return 'done';
		if (p.etaSeconds === null || p.etaSeconds === undefined) return '–';
		const s = p.etaSeconds;
		if (s < 60) return `${s} s`;
		if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
		return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
	},
	time: (iso) => (iso ? new Date(iso).toLocaleString() : '–'),
};

function bar(p) {
	const total = p.counts.total || 0;
	const part = (n) => (total > 0 ? (100 * n) / total : 0);
	return h(
		'div',
		{
			class: 'bar',
			role: 'progressbar',
			'aria-valuenow': p.percent,
			'aria-valuemin': 0,
			'aria-valuemax': 100,
		},
		h('span', { class: 'ok', style: `width:${part(p.counts.succeeded + p.counts.skipped)}%` }),
		h('span', { class: 'dead', style: `width:${part(p.counts.deadLettered)}%` }),
	);
}

function card(p) {
	return h(
		'li',
		{
			class: 'card' + (state.selected === p.batchId ? ' selected' : ''),
			'data-batch': p.batchId,
			tabindex: 0,
			onclick: () => select(p.batchId),
			onkeydown: (e) => e.key === 'Enter' && select(p.batchId),
		},
		h('div', { class: 'card-head' }, h('strong', { class: 'name' }, p.batchKey), badge(p.state)),
		bar(p),
		h(
			'div',
			{ class: 'card-stats' },
			h('span', { 'data-field': 'percent' }, `${p.percent}%`),
			h(
				'span',
				null,
				`${fmt.n(p.counts.succeeded + p.counts.skipped + p.counts.deadLettered)} / ${fmt.n(p.counts.total)}`,
			),
			h('span', null, fmt.rate(p.itemsPerSecond)),
			h('span', null, 'ETA ' + fmt.eta(p)),
		),
	);
}

const badge = (s) =>
	h('span', { class: 'badge ' + s, 'data-field': 'state' }, s.replace(/_/g, ' '));

function renderList() {
	const list = document.getElementById('batches');
	const shown = [...state.batches.values()].filter(
		(p) => !state.filter || p.state === state.filter,
	);
	list.replaceChildren(...shown.map(card));
	document.getElementById('batch-count').textContent =
		`${shown.length} batch${shown.length === 1 ? '' : 'es'}`;
	document.getElementById('more').hidden = !state.nextCursor;
	if (shown.length === 0) list.append(h('li', { class: 'muted empty' }, 'No batches yet.'));
}

function updateCard(p) {
	const known = state.batches.has(p.batchId);
	if (!known) {
		// A batch created after the page loaded goes on top.
		state.batches = new Map([[p.batchId, p], ...state.batches]);
		return renderList();
	}
	state.batches.set(p.batchId, p);
	const old = document.querySelector(`li[data-batch="${CSS.escape(p.batchId)}"]`);
	if (!old) return;
	if (state.filter && p.state !== state.filter) old.remove();
	else old.replaceWith(card(p));
}

async function loadList(append) {
	const error = document.getElementById('list-error');
	try {
		const query = new URLSearchParams({ limit: String(PAGE) });
		if (state.filter) query.set('state', state.filter);
		if (append && state.nextCursor) query.set('cursor', state.nextCursor);
		const page = await call('GET', '/batches?' + query);
		if (!append) state.batches = new Map();
		for (const p of page.batches) state.batches.set(p.batchId, p);
		state.nextCursor = page.nextCursor;
		error.hidden = true;
		renderList();
	} catch (e) {
		error.textContent = 'Could not load batches: ' + e.message;
		error.hidden = false;
	}
}

function select(batchId) {
	state.selected = batchId;
	if (location.hash !== '#batch=' + encodeURIComponent(batchId))
		location.hash = 'batch=' + encodeURIComponent(batchId);
	document
		.querySelectorAll('li.card')
		.forEach((li) => li.classList.toggle('selected', li.dataset.batch === batchId));
	loadDetail();
}

async function loadDetail() {
	const id = state.selected;
	if (!id) return;
	try {
		const detail = await call('GET', '/batches/' + encodeURIComponent(id));
		if (state.selected !== id) return;
		state.detail = detail;
		renderDetail();
	} catch (e) {
		document.getElementById('detail').replaceChildren(h('p', { class: 'error' }, e.message));
	}
}

/** Dead letters and the limiter do not come with progress events: re-read them, at most every 2 s. */
function refreshDetailSoon() {
	if (state.detailTimer) return;
	state.detailTimer = setTimeout(() => {
		state.detailTimer = null;
		loadDetail();
	}, 2000);
}

function onProgress(p) {
	updateCard(p);
	if (state.detail && p.batchId === state.selected) {
		const before = state.detail.progress;
		state.detail.progress = p;
		renderDetail();
		if (before.counts.deadLettered !== p.counts.deadLettered || before.state !== p.state)
			refreshDetailSoon();
		else if (state.detail.limiter) refreshDetailSoon();
	}
}

async function act(label, method, path, body, button) {
	const message = document.getElementById('action-message');
	if (button) button.disabled = true;
	try {
		const answer = await call(method, path, body);
		message.className = 'ok-text';
		message.textContent =
			label +
			(answer.replayed !== undefined ? `: ${answer.replayed} item(s) back to pending` : ': done');
		await loadDetail();
	} catch (e) {
		message.className = 'error';
		message.textContent = `${label} failed: ${e.message}`;
	} finally {
		if (button) button.disabled = false;
	}
}

function controls(p) {
	const base = '/batches/' + encodeURIComponent(p.batchId);
	const terminal = TERMINAL.includes(p.state);
	const button = (label, op, extra) =>
		h(
			'button',
			{
				'data-action': op,
				class: extra,
				onclick: (e) => {
					if (op === 'cancel' && !confirm(`Cancel batch ${p.batchKey}? Queued chunks are dropped.`))
						return;
					act(label, 'POST', `${base}/${op}`, undefined, e.currentTarget);
				},
			},
			label,
		);
	return h(
		'div',
		{ class: 'controls' },
		p.state === 'paused' ? button('Resume', 'resume') : !terminal && button('Pause', 'pause'),
		!terminal && button('Cancel', 'cancel', 'danger'),
		h('a', { href: `/ui/api${base}/report`, target: '_blank', rel: 'noopener' }, 'Report (JSON)'),
		h('span', { id: 'action-message', role: 'status' }),
	);
}

function countsTable(p) {
	return h(
		'table',
		{ class: 'counts' },
		h(
			'tbody',
			null,
			OUTCOMES.map(([field, label]) =>
				h(
					'tr',
					null,
					h('th', null, label),
					h('td', { 'data-count': field }, fmt.n(p.counts[field])),
				),
			),
		),
	);
}

function facts(p, limiter) {
	const breaker = p.breaker;
	return h(
		'dl',
		{ class: 'facts' },
		h('dt', null, 'Rate'),
		h('dd', { 'data-field': 'rate' }, fmt.rate(p.itemsPerSecond)),
		h('dt', null, 'ETA'),
		h('dd', { 'data-field': 'eta' }, fmt.eta(p)),
		h('dt', null, 'Chunks'),
		h('dd', null, `${fmt.n(p.chunks.done)} / ${fmt.n(p.chunks.total)} done`),
		h('dt', null, 'Concurrency'),
		h('dd', null, p.concurrency),
		h('dt', null, 'Circuit breaker'),
		h(
			'dd',
			{ 'data-field': 'breaker' },
			breaker
				? h('span', { class: 'badge ' + breaker.state }, breaker.state.replace('_', ' '))
				: 'no target',
			breaker && breaker.consecutiveFailures
				? ` · ${breaker.consecutiveFailures} failures in a row`
				: '',
			breaker && breaker.openedAt ? ` · opened ${fmt.time(breaker.openedAt)}` : '',
		),
		h('dt', null, 'Limiter'),
		h(
			'dd',
			{ 'data-field': 'limiter' },
			limiter
				? [
						h('strong', null, limiter.limiterKey),
						` ${limiter.state} · ${limiter.tokens} tokens · ${limiter.currentRefillAmount}/${limiter.settings.refillUnit}`,
						limiter.throttles ? ` · ${limiter.throttles} throttles` : '',
						limiter.pausedForMs ? ` · paused ${Math.ceil(limiter.pausedForMs / 1000)} s` : '',
					]
				: 'none',
		),
		h('dt', null, 'Started'),
		h('dd', null, fmt.time(p.startedAt)),
		h('dt', null, 'Finished'),
		h('dd', null, fmt.time(p.finishedAt)),
	);
}

function errorClasses(p, deadLetters) {
	const classes = Object.entries(p.errorClasses || {});
	if (classes.length === 0) return h('p', { class: 'muted' }, 'No failed attempts.');
	const deadByClass = {};
	for (const d of deadLetters.deadLetters) deadByClass[d.class] = (deadByClass[d.class] || 0) + 1;
	const base = '/batches/' + encodeURIComponent(p.batchId);
	return h(
		'ul',
		{ class: 'classes' },
		classes.map(([name, info]) =>
			h(
				'li',
				{ 'data-class': name },
				h(
					'div',
					{ class: 'class-head' },
					h('code', null, name),
					` ${fmt.n(info.count)} failed attempt(s)`,
					deadByClass[name] &&
						!['cancelled', 'aborted'].includes(p.state) &&
						h(
							'button',
							{
								class: 'secondary',
								'data-action': 'replay-class',
								onclick: (e) =>
									act(
										`Replay ${name}`,
										'POST',
										`${base}/replay`,
										{ errorClass: name },
										e.currentTarget,
									),
							},
							`Replay ${name}`,
						),
				),
				h(
					'ul',
					{ class: 'samples' },
					info.samples.map((s) => h('li', null, h('code', null, s.key), ' ', s.message)),
				),
			),
		),
	);
}

function lastExecution(executions) {
	return executions && executions.length > 0
		? executionLink(executions[executions.length - 1])
		: '–';
}

function executionLink(execution) {
	const base = state.settings.n8nEditorUrl;
	const label = `#${execution.id} ${execution.status}`;
	const href =
		execution.url ||
		(base && execution.workflowId
			? `${base}/workflow/${encodeURIComponent(execution.workflowId)}/executions/${encodeURIComponent(execution.id)}`
			: null);
	if (!href) return h('span', { title: 'Set N8N_EDITOR_URL to link executions' }, label);
	return h('a', { href, target: '_blank', rel: 'noopener' }, label);
}

function deadLetterTable(p, deadLetters, chunkExecutions) {
	const base = '/batches/' + encodeURIComponent(p.batchId);
	const canReplay = deadLetters.total > 0 && !['cancelled', 'aborted'].includes(p.state);
	return h(
		'div',
		null,
		h(
			'div',
			{ class: 'section-head' },
			h('h3', null, `Dead letters and in-doubt items (${fmt.n(deadLetters.total)})`),
			canReplay &&
				h(
					'button',
					{
						'data-action': 'replay-all',
						onclick: (e) =>
							act('Replay all dead letters', 'POST', `${base}/replay`, {}, e.currentTarget),
					},
					'Replay all',
				),
		),
		deadLetters.total === 0
			? h('p', { class: 'muted' }, 'None.')
			: h(
					'div',
					{ class: 'scroll' },
					h(
						'table',
						{ class: 'dead-letters' },
						h(
							'thead',
							null,
							h(
								'tr',
								null,
								['Item', 'Class', 'Message', 'Attempts', 'Chunk', 'Last', 'Execution'].map((t) =>
									h('th', null, t),
								),
							),
						),
						h(
							'tbody',
							null,
							deadLetters.deadLetters.map((d) =>
								h(
									'tr',
									{ 'data-key': d.key, class: d.class === 'in_doubt' ? 'in-doubt' : '' },
									h('td', null, h('code', null, d.key)),
									h('td', null, d.class),
									h('td', null, d.message),
									h('td', null, d.attempts),
									h('td', null, d.chunkIndex),
									h('td', null, fmt.time(d.lastAt)),
									h('td', null, lastExecution(chunkExecutions[d.chunkIndex])),
								),
							),
						),
					),
				),
		deadLetters.total > deadLetters.deadLetters.length &&
			h('p', { class: 'muted' }, `Showing the first ${deadLetters.deadLetters.length}.`),
	);
}

function executionsByChunk(executions) {
	const out = {};
	for (const chunk of executions || []) out[chunk.chunkIndex] = chunk.executions;
	return out;
}

function executionList(chunks) {
	if (!chunks || chunks.length === 0) return null;
	return h(
		'div',
		null,
		h('h3', null, 'Chunks and their n8n executions'),
		h(
			'ul',
			{ class: 'executions' },
			chunks.map((c) =>
				h(
					'li',
					{ 'data-chunk': c.chunkIndex },
					`Chunk ${c.chunkIndex} (${c.items - c.left}/${c.items} done): `,
					c.executions.map((e, i) => [i > 0 ? ', ' : '', executionLink(e)]),
				),
			),
		),
	);
}

function renderDetail() {
	const { progress: p, limiter, deadLetters, executions } = state.detail;
	// DOM's replaceChildren would print null and false: drop the parts that do not apply.
	const parts = [
		h(
			'div',
			{ class: 'detail-head', 'data-batch': p.batchId },
			h('h2', null, p.batchKey),
			badge(p.state),
			h('span', { class: 'percent', 'data-field': 'percent' }, `${p.percent}%`),
		),
		bar(p),
		p.abortReason && h('p', { class: 'error' }, p.abortReason),
		controls(p),
		h('div', { class: 'grid' }, countsTable(p), facts(p, limiter)),
		h('h3', null, 'Error classes'),
		errorClasses(p, deadLetters),
		deadLetterTable(p, deadLetters, executionsByChunk(executions)),
		executionList(executions),
	].filter(Boolean);
	document.getElementById('detail').replaceChildren(...parts);
}

function connect() {
	const live = document.getElementById('live');
	const source = new EventSource('/ui/api/events');
	source.addEventListener('open', () => {
		live.textContent = 'live';
		live.className = 'live on';
		// Anything missed while disconnected: read the list and the open batch again.
		loadList(false);
		loadDetail();
	});
	source.addEventListener('progress', (e) => onProgress(JSON.parse(e.data)));
	source.addEventListener('gone', (e) => {
		const { batchId } = JSON.parse(e.data);
		state.batches.delete(batchId);
		renderList();
	});
	source.addEventListener('error', async () => {
		live.textContent = 'reconnecting…';
		live.className = 'live off';
		// A stream refused for a lost session does not retry by itself: check and go to the login.
		if (source.readyState === EventSource.CLOSED) {
			await call('GET', '/settings').catch(() => undefined);
			setTimeout(connect, 2000);
		}
	});
}

async function start() {
	state.settings = await call('GET', '/settings');
	document.getElementById('state-filter').addEventListener('change', (e) => {
		state.filter = e.target.value;
		loadList(false);
	});
	document.getElementById('more').addEventListener('click', () => loadList(true));
	const fromHash = /^#batch=(.+)$/.exec(location.hash);
	if (fromHash) select(decodeURIComponent(fromHash[1]));
	connect();
}

start().catch((e) => {
	document.getElementById('list-error').textContent = e.message;
	document.getElementById('list-error').hidden = false;
});
