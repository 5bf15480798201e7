/** SMTP for direct delivery: the configured transports and the installation's suppression list. */
export { smtpRouter } from './router';
export { Suppressions, normalizeAddress, type Suppression } from './suppressions';
export { describeTransport, findTransport, type SmtpTransport } from './transports';
