import { readFileSync } from 'node:fs';

// The stand-in's accounts, seeded from real recorded server answers (test/fixtures/horde, copied
// from shared/data/horde-exchange/b64): the worker owner and the requester of a local horde run.

type Json = Record<string, unknown>;

function readFixture(name: string): Json {
  const text = readFileSync(new URL(`../../test/fixtures/horde/${name}`, import.meta.url), 'utf8');
  return JSON.parse(text) as Json;
}

function stringField(record: Json, key: string): string {
  const value = record[key];
  if (typeof value !== 'string') throw new Error(`fixture field ${key} is not a string`);
  return value;
}

// 01/02 are the horde's answers to creating the accounts; they hold the keys.
const requesterCreated = readFixture('01_requester_user.json');
const workerOwnerCreated = readFixture('02_worker_user.json');

/** API keys the seeded stand-in knows. The anonymous key is the horde's fixed "0000000000". */
export const STANDIN_KEYS = {
  workerOwner: stringField(workerOwnerCreated, 'api_key'),
  requester: stringField(requesterCreated, 'api_key'),
  anonymous: '0000000000',
} as const;

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

/**
 * The anonymous account as the horde seeds it: id 0, username "Anonymous", key "0000000000",
 * `public_workers` on, concurrency 500 (horde/classes/__init__.py). find_user with that key
 * resolves it like any other key, so it answers at privilege 1. The remaining figures (kudos 0,
 * untrusted, empty records) are inferred for a fresh horde; the live one carries real totals.
 */
function anonymousDetails(template: Json): Json {
  const zeroKudos = { accumulated: 0, gifted: 0, donated: 0, admin: 0, received: 0, recurring: 0, awarded: 0, styled: 0 };
  return {
    ...structuredClone(template),
    username: 'Anonymous#0',
    id: 0,
    kudos: 0,
    concurrency: 500,
    kudos_details: zeroKudos,
    worker_count: 0,
    worker_ids: [],
    trusted: false,
    pseudonymous: false,
    account_age: 0,
  };
}

/** A fresh table with the worker owner (id 2), the requester (id 1) and Anonymous (id 0), as recorded. */
export function createSeededUsers(): UserTable {
  const workerOwner = readFixture('03_worker_user_before.json');
  // The requester was only recorded after one request; that body is still a real UserDetails.
  const requester = readFixture('13_requester_user_after.json');
  const table = new UserTable();
  table.add({ id: Number(workerOwner.id), apiKey: STANDIN_KEYS.workerOwner, moderator: false, publicWorkers: false, details: workerOwner });
  table.add({ id: Number(requester.id), apiKey: STANDIN_KEYS.requester, moderator: false, publicWorkers: false, details: requester });
  table.add({ id: 0, apiKey: STANDIN_KEYS.anonymous, moderator: false, publicWorkers: true, details: anonymousDetails(workerOwner) });
  return table;
}
