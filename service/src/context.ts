import type { Redis } from 'ioredis';

import type { Config } from './config';
import type { Logger } from './logger';
import type { Keys } from './redis/keys';

/** What every feature folder is handed: configuration, the command connection and key names. */
export interface ServiceContext {
	config: Config;
	redis: Redis;
	redisUrl: string;
	keys: Keys;
	logger: Logger;
}
