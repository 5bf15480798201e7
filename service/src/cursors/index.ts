/** The cursor feature: named durable values with a version and a checksum, for incremental jobs. */
export { cursorsRouter } from './router';
export { Cursors, type Cursor } from './cursors';
