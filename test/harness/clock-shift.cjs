// Preloaded into a service process (NODE_OPTIONS=--require) to run it with a clock that
// disagrees with Redis by BG_CLOCK_OFFSET_MS: Date.now() and new Date() are shifted, nothing else.
const offset = Number(process.env.BG_CLOCK_OFFSET_MS || 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
class ShiftedDate extends RealDate {
	constructor(...args) {
		if (args.length === 0) super(realNow() + offset);
		else super(...args);
	}
	static now() {
		return realNow() + offset;
	}
}
globalThis.Date = ShiftedDate;
