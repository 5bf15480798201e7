import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';

import { ApiError } from './errors';
import { parseJsonBody } from './json-text';

type Decoder = (data: Buffer, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;

const DECODERS: Record<string, Decoder> = {
	gzip: promisify(zlib.gunzip),
	'x-gzip': promisify(zlib.gunzip),
	deflate: promisify(zlib.inflate),
	br: promisify(zlib.brotliDecompress),
};
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const SEND_JSON = 'Send the body as application/json (UTF-8), or no body at all';

/**
 * Reads the body of POST/PUT/PATCH as one JSON object into `req.body` (undefined when there is
 * none). Anything else is refused before a handler runs: other content types (415), encodings
 * other than gzip/deflate/br (415), bodies over `limit` bytes, compressed or not (413), bodies that
 * do not decode (400), and JSON that is broken, too deep or carries `__proto__` (400).
 */
export function jsonBody(limit: number): RequestHandler {
	return (req, res, next) => {
		if (!BODY_METHODS.has(req.method) || !declaresBody(req)) {
			req.body = undefined;
			next();
			return;
		}
		readJsonBody(req, res, limit).then((body) => {
			req.body = body;
			next();
		}, next);
	};
}

/**
 * The body of routes that need one: a JSON object, `{}` at least (an absent body is refused, so
 * a client that forgot it is told instead of getting every default).
 */
export function requiredBody(req: Request): Record<string, unknown> {
	if (req.body === undefined) {
		throw new ApiError(
			400,
			'body_required',
			'This route needs a JSON object body (application/json); send {} for the defaults',
		);
	}
	return req.body as Record<string, unknown>;
}

function declaresBody(req: Request): boolean {
	const length = req.headers['content-length'];
	return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function readJsonBody(
	req: Request,
	res: Response,
	limit: number,
): Promise<Record<string, unknown> | undefined> {
	checkContentType(req.headers['content-type']);
	const decode = decoderFor(req.headers['content-encoding']);
	const declared = Number(req.headers['content-length'] ?? 0);
	if (declared > limit) {
		// The body is not read: the connection cannot be reused.
		res.setHeader('Connection', 'close');
		throw tooLarge(declared, limit);
	}
	let bytes = await readBytes(req, res, limit);
	if (decode) {
		try {
			bytes = await decode(bytes, { maxOutputLength: limit });
		} catch (error) {
			if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
				throw tooLarge(`more than ${limit}`, limit, ' once decompressed');
			}
			throw new ApiError(
				400,
				'undecodable_body',
				`The body could not be decoded as ${req.headers['content-encoding']} (${(error as Error).message}); send it compressed that way, or uncompressed without content-encoding`,
			);
		}
	}
	let text: string;
	try {
		text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		throw new ApiError(400, 'invalid_json', 'Request body is not valid UTF-8; send JSON in UTF-8');
	}
	return text.length === 0 ? undefined : parseJsonBody(text);
}

/** application/json with charset utf-8 or none; anything else (or a broken header) is 415. */
function checkContentType(header: string | undefined): void {
	const [type = '', ...params] = (header ?? '').split(';').map((part) => part.trim().toLowerCase());
	const charsets = params.map((param) => /^charset\s*=\s*"?([^";\s]*)"?$/.exec(param));
	const valid =
		type === 'application/json' &&
		params.every((param, i) => param === '' || charsets[i] !== null) &&
		charsets.every((match) => !match || ['utf-8', 'utf8'].includes(match[1]));
	if (!valid) {
		throw new ApiError(
			415,
			'unsupported_media_type',
			`Content-Type '${header ?? '(none)'}' is not accepted. ${SEND_JSON}.`,
		);
	}
}

function decoderFor(header: string | undefined): Decoder | undefined {
	const encoding = (header ?? 'identity').trim().toLowerCase();
	if (encoding === 'identity' || encoding === '') return undefined;
	const decoder = DECODERS[encoding];
	if (!decoder) {
		throw new ApiError(
			415,
			'unsupported_encoding',
			`Content-Encoding '${header}' is not supported: send gzip, deflate, br or no content-encoding (one encoding, not a list)`,
		);
	}
	return decoder;
}

/** `size` reads "5000" or "more than 4096", `when` e.g. " once decompressed". */
function tooLarge(size: number | string, limit: number, when = ''): ApiError {
	return new ApiError(
		413,
		'body_too_large',
		`Request body is ${size} bytes${when}; the limit is ${limit} (MAX_BODY_BYTES). Send items in smaller pages.`,
	);
}

/** Reads up to `limit` bytes; a client that hangs up mid-body is `request_aborted`. */
function readBytes(req: Request, res: Response, limit: number): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		const finish = (error?: ApiError) => {
			req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
			if (error) reject(error);
			else resolve(Buffer.concat(chunks, size));
		};
		const onData = (chunk: Buffer) => {
			size += chunk.length;
			chunks.push(chunk);
			if (size > limit) {
				req.pause();
				res.setHeader('Connection', 'close');
				finish(tooLarge(`more than ${limit}`, limit));
			}
		};
		const onEnd = () => finish();
		const onError = () => finish(aborted());
		const onClose = () => {
			if (!req.complete) finish(aborted());
		};
		req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
	});
}

const aborted = () =>
	new ApiError(400, 'request_aborted', 'The client closed the connection before the body was sent');
