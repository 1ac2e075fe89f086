/**
 * Numbered database migrations, applied in order inside one transaction each; the version
 * reached is kept in `PRAGMA user_version`. Never edit a released migration: add the next one.
 * Each has its own test in test/unit/migrations.test.ts.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'kudos ledger',
    // One row per kudos event the app learns of. (source, horde_ref) is unique so a reward
    // reported twice (a retried submit, a re-synced rating) is only counted once.
    sql: `
      CREATE TABLE kudos_ledger (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL CHECK (source IN ('job', 'rating', 'uptime')),
        amount      REAL    NOT NULL CHECK (amount >= 0),
        at          INTEGER NOT NULL,
        horde_ref   TEXT    NOT NULL CHECK (length(horde_ref) BETWEEN 1 AND 200),
        detail      TEXT,
        recorded_at INTEGER NOT NULL,
        UNIQUE (source, horde_ref)
      );
      CREATE INDEX kudos_ledger_at ON kudos_ledger (at);
    `,
  },
  {
    version: 2,
    name: 'job log',
    // The worker's History: one row per horde job (all images of a pop), newest kept.
    sql: `
      CREATE TABLE job_log (
        id            INTEGER PRIMARY KEY,
        job_id        TEXT    NOT NULL UNIQUE,
        model         TEXT    NOT NULL,
        sampler       TEXT    NOT NULL,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        steps         INTEGER NOT NULL,
        state         TEXT    NOT NULL CHECK (state IN ('ok', 'faulted', 'dropped')),
        reason        TEXT,
        reward        REAL    NOT NULL DEFAULT 0,
        popped_at     INTEGER NOT NULL,
        finished_at   INTEGER NOT NULL,
        generation_ms INTEGER NOT NULL
      );
      CREATE INDEX job_log_finished ON job_log (finished_at);
    `,
  },
  {
    version: 3,
    name: 'rating cache and queue',
    // Images downloaded for rating (files on disk, index here) and every rating made. A rating is
    // inserted before the page advances; `state` walks pending → sending → sent | refused, and a
    // rating found in `sending` after a crash is reconciled with the service before any resend.
    sql: `
      CREATE TABLE rating_images (
        image_id    TEXT    PRIMARY KEY,
        dataset_id  TEXT,
        instruction TEXT,
        file        TEXT    NOT NULL,
        mime        TEXT    NOT NULL,
        bytes       INTEGER NOT NULL,
        fetched_at  INTEGER NOT NULL,
        status      TEXT    NOT NULL CHECK (status IN ('queued', 'rated', 'skipped')),
        seq         INTEGER NOT NULL
      );
      CREATE INDEX rating_images_queue ON rating_images (status, seq);
      CREATE TABLE ratings (
        id          INTEGER PRIMARY KEY,
        image_id    TEXT    NOT NULL UNIQUE,
        rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 10),
        artifacts   INTEGER CHECK (artifacts BETWEEN 0 AND 5),
        rated_at    INTEGER NOT NULL,
        state       TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'refused')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        reward      REAL,
        reason      TEXT,
        sent_at     INTEGER,
        thumbnail   BLOB
      );
      CREATE INDEX ratings_state ON ratings (state, id);
    `,
  },
  {
    version: 4,
    name: 'credited job kudos',
    // `amount` is what the horde credited. Up to migration 3 a job row's amount held the reward
    // the submit answer announced, of which the horde credits HordeDesk, a non-official bridge,
    // 75 % (HORDE-PROTOCOL §2.8). So that no old row changes meaning silently, this migration moves
    // that figure to the new `announced` column and books 75 % of it (to the cent) as `amount`,
    // which is what the horde credited unless the worker was paused then (HordeDesk could not
    // tell). `not_credited` says why a row books 0 although a reward was announced ('paused': the
    // fake jobs the horde feeds a paused worker). `horde_credit` is the one-row state of the
    // check that finds such pauses (core/kudos/creditWatch.ts): the last worker record it read.
    sql: `
      ALTER TABLE kudos_ledger ADD COLUMN announced REAL CHECK (announced IS NULL OR announced >= 0);
      ALTER TABLE kudos_ledger ADD COLUMN not_credited TEXT CHECK (not_credited IS NULL OR amount = 0);
      UPDATE kudos_ledger SET announced = amount, amount = round(amount * 0.75, 2) WHERE source = 'job';
      CREATE TABLE horde_credit (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        worker_name  TEXT    NOT NULL,
        read_at      INTEGER NOT NULL,
        fulfilled    INTEGER NOT NULL,
        paused_since INTEGER,
        paused_how   TEXT    CHECK (paused_how IN ('record', 'credits')),
        CHECK ((paused_since IS NULL) = (paused_how IS NULL))
      );
    `,
  },
  {
    version: 5,
    name: 'job censorship',
    // What the safety check replaced in a job (issue 13): 'nsfw' when its images were censored,
    // 'csam' when one was flagged as CSAM. Only the mark is kept, never an image.
    sql: `
      ALTER TABLE job_log ADD COLUMN censorship TEXT CHECK (censorship IS NULL OR censorship IN ('nsfw', 'csam'));
    `,
  },
  {
    version: 6,
    name: 'job kind',
    // The request kind a job ran (issue 14): "txt2img", "img2img", "inpainting", "outpainting",
    // with "+hires_fix" / "+tiling" when they ran (core/worker/jobKinds.ts). Older rows were all
    // txt2img; a job that could not be read has none.
    sql: `
      ALTER TABLE job_log ADD COLUMN kind TEXT CHECK (kind IS NULL OR length(kind) BETWEEN 1 AND 64);
      UPDATE job_log SET kind = 'txt2img' WHERE model <> 'unknown';
    `,
  },
  {
    version: 7,
    name: 'job post-processing',
    // The post-processors that ran on a job's images (issue 17), joined by "+" in the order they ran
    // (core/worker/postProcessing.ts); none for older rows and for jobs where none ran.
    sql: `
      ALTER TABLE job_log ADD COLUMN post_processing TEXT CHECK (post_processing IS NULL OR length(post_processing) BETWEEN 1 AND 400);
    `,
  },
  {
    version: 8,
    name: 'job add-ons',
    // The LoRAs and textual inversions a job used (issue 18), as core/lora/addons.ts `addonsLabel` words them
    // ("LoRA 247778 (0.8/1), TI 7808; left out: LoRA 99"); none for older rows and for jobs that named none.
    sql: `
      ALTER TABLE job_log ADD COLUMN addons TEXT CHECK (addons IS NULL OR length(addons) BETWEEN 1 AND 400);
    `,
  },
];
