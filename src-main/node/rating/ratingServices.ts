import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { RatingStatus } from '../../common/ratings';
import type { HordeClient } from '../../core/horde/client';
import type { HttpPort } from '../../core/horde/http';
import type { KeyBinding } from '../../core/keyBinding';
import type { KudosLedgerPort } from '../../core/kudos/ledger';
import type { Logger } from '../../core/log';
import { createRatingsClient, type RatingsClient } from '../../core/rating/client';
import type { RatingStorePort } from '../../core/rating/ports';
import { createRater, type Rater } from '../../core/rating/raterService';
import type { SettingsService } from '../../core/settings/settingsService';
import { nodeClock } from '../worker/workerService';
import { createImageCache } from './imageCache';
import { createRatingsRemote } from './ratingsRemote';
import { createSqliteRatingStore } from './ratingStore';

/** What the rater is built over. */
export interface RatingServiceDeps {
  dataDir: string;
  db: DatabaseSync;
  ledger: KudosLedgerPort;
  http: HttpPort;
  horde: HordeClient;
  clientAgent: string;
  keys: Pick<KeyBinding, 'apiKey' | 'confirmedUrl'>;
  /** Read at each call: the ratings service URL. */
  settings: Pick<SettingsService, 'get'>;
  log: Logger;
  onStatus: (status: RatingStatus) => void;
}

/** The rater and the parts its commands read directly. */
export interface RatingServices {
  rater: Rater;
  store: RatingStorePort;
  client: RatingsClient;
}

/** The rater over its SQLite queue, the image cache in `<dataDir>/rating-cache` and the ratings service. */
export function createRatingServices(deps: RatingServiceDeps): RatingServices {
  const { keys, clientAgent } = deps;
  const store = createSqliteRatingStore(deps.db, deps.ledger);
  const client = createRatingsClient({
    baseUrl: () => deps.settings.get().ratingsUrl,
    http: deps.http,
    clientAgent,
    apiKey: () => keys.apiKey() ?? undefined,
    confirmedKeyUrl: () => keys.confirmedUrl('ratings'),
  });
  const rater = createRater({
    store,
    cache: createImageCache(join(deps.dataDir, 'rating-cache')),
    remote: createRatingsRemote(client, deps.horde, clientAgent, () => keys.apiKey()),
    clock: nodeClock,
    log: deps.log,
    onStatus: deps.onStatus,
  });
  return { rater, store, client };
}
