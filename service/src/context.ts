import type { Config } from './config';
import type { Logger } from './logger';
import type { RedisClient, RedisTarget } from './redis/connection';
import type { Keys } from './redis/keys';

/** What every feature folder is handed: configuration, the command connection and key names. */
export interface ServiceContext {
	config: Config;
	redis: RedisClient;
	/** Where Redis is, for features that open connections of their own (BullMQ, pub/sub). */
	redisTarget: RedisTarget;
	keys: Keys;
	logger: Logger;
}
