/** Direct delivery over SMTP: the DirectSender the dispatcher hands direct batches to. */
export { SmtpSender } from './sender';
