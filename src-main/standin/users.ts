// The stand-in's accounts: a worker owner, a requester and Anonymous, seeded with our own made-up
// values in the UserDetails shape the horde answers with (HORDE-PROTOCOL §3.5; the recorded
// exchange in ../shared/data/horde-exchange shows the same field set, which the tests check).

type Json = Record<string, unknown>;

/**
 * API keys the seeded stand-in knows: throw-away keys of a local test horde, 22 URL-safe
 * characters like the horde's own. The anonymous key is the horde's fixed "0000000000".
 */
export const STANDIN_KEYS = {
  workerOwner: 'xHg7VAfu4waNLOFTpNW17A',
  requester: 'D8exXfgkl5JWQg2rMETGHw',
  anonymous: '0000000000',
} as const;

const counts = () => ({ image: 0, text: 0, interrogation: 0 });

/** `UserKudosDetails` with every bucket at zero but those given. */
function kudosDetails(fields: Record<string, number> = {}): Json {
  return { accumulated: 0, gifted: 0, donated: 0, admin: 0, received: 0, recurring: 0, awarded: 0, styled: 0, ...fields };
}

/** The `records` totals of an account that has done nothing yet. */
function freshRecords(): Json {
  return {
    usage: { megapixelsteps: 0, tokens: 0 },
    contribution: { megapixelsteps: 0, tokens: 0 },
    fulfillment: counts(),
    request: counts(),
    style: counts(),
  };
}

/**
 * A UserDetails body as its owner sees it (privilege 1), every field the horde sends: `fields`
 * overrides the figures of a fresh account. `usage` and `contributions` are the obsolete totals
 * the horde still sends as nulls.
 */
function userDetails(id: number, alias: string, fields: Json = {}): Json {
  return {
    username: `${alias}#${id}`,
    id,
    kudos: 0,
    concurrency: 30,
    worker_invited: 0,
    moderator: false,
    kudos_details: kudosDetails(),
    worker_count: 0,
    worker_ids: [],
    styles: [],
    sharedkey_ids: [],
    trusted: false,
    flagged: false,
    vpn: false,
    service: false,
    education: false,
    customizer: false,
    special: false,
    deleted: false,
    pseudonymous: false,
    account_age: 0,
    usage: { megapixelsteps: null, requests: null },
    contributions: { megapixelsteps: null, fulfillments: null },
    records: freshRecords(),
    ...fields,
  };
}

/**
 * The seeded accounts' details, fresh copies. The worker owner (id 2) has no worker yet and some
 * kudos received; the requester (id 1) has spent kudos on earlier requests. Both are trusted, so
 * their jobs and pops pass the horde's trust checks. Anonymous (id 0) is as the horde seeds it:
 * username "Anonymous", `public_workers` on, concurrency 500 (horde/classes/__init__.py); its other
 * figures are those of a fresh account (the live horde's carry real totals).
 */
export function seededDetails(): { workerOwner: Json; requester: Json; anonymous: Json } {
  return {
    workerOwner: userDetails(2, 'standin_owner', {
      kudos: 250,
      kudos_details: kudosDetails({ received: 250 }),
      trusted: true,
      account_age: 604800,
    }),
    requester: userDetails(1, 'standin_requester', {
      kudos: 4880,
      kudos_details: kudosDetails({ accumulated: -120, admin: 5000 }),
      trusted: true,
      account_age: 2592000,
      records: { ...freshRecords(), usage: { megapixelsteps: 48.5, tokens: 0 }, request: { ...counts(), image: 14 } },
    }),
    anonymous: userDetails(0, 'Anonymous', { concurrency: 500 }),
  };
}

/** One account. `details` is the UserDetails body the owner sees (privilege 1). */
export interface StandinUser {
  id: number;
  apiKey: string;
  moderator: boolean;
  /** The horde shows worker ids to everyone when set; the anonymous user has it on. */
  publicWorkers: boolean;
  details: Json;
}

// Fields get_details adds only at privilege >= 1 (the owner) or >= 2 (moderators), per the horde's
// User.get_details; `worker_ids` is also public when `public_workers` is set.
const OWNER_ONLY_FIELDS = ['sharedkey_ids', 'contact', 'vpn', 'special'];
const MODERATOR_ONLY_FIELDS = ['evaluating_kudos', 'monthly_kudos', 'suspicious', 'admin_comment'];

/** The UserDetails body at a privilege level: 0 anyone, 1 the owner, 2 a moderator. */
export function detailsAt(user: StandinUser, privilege: 0 | 1 | 2): Json {
  const body = structuredClone(user.details);
  if (privilege < 2) for (const key of MODERATOR_ONLY_FIELDS) delete body[key];
  if (privilege < 1) {
    for (const key of OWNER_ONLY_FIELDS) delete body[key];
    if (!user.publicWorkers) delete body.worker_ids;
  }
  return body;
}

/** The accounts of one stand-in instance; tests may add users or change kudos. */
export class UserTable {
  private readonly users = new Map<number, StandinUser>();

  /** Adds or replaces an account (by id). */
  add(user: StandinUser): void {
    this.users.set(user.id, user);
  }

  /** The account owning this exact key, if any. */
  byKey(apiKey: string): StandinUser | undefined {
    for (const user of this.users.values()) if (user.apiKey === apiKey) return user;
    return undefined;
  }

  byId(id: number): StandinUser | undefined {
    return this.users.get(id);
  }

  /** Shallow-merges fields into a user's details (e.g. `{ kudos: 106 }`). */
  updateDetails(id: number, patch: Json): void {
    const user = this.users.get(id);
    if (!user) throw new Error(`no stand-in user ${id}`);
    user.details = { ...user.details, ...patch };
  }

  all(): StandinUser[] {
    return [...this.users.values()];
  }
}

/** A fresh table with the worker owner (id 2), the requester (id 1) and Anonymous (id 0). */
export function createSeededUsers(): UserTable {
  const seeded = seededDetails();
  const table = new UserTable();
  table.add({ id: 2, apiKey: STANDIN_KEYS.workerOwner, moderator: false, publicWorkers: false, details: seeded.workerOwner });
  table.add({ id: 1, apiKey: STANDIN_KEYS.requester, moderator: false, publicWorkers: false, details: seeded.requester });
  table.add({ id: 0, apiKey: STANDIN_KEYS.anonymous, moderator: false, publicWorkers: true, details: seeded.anonymous });
  return table;
}
