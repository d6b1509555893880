//! Versioned migrations, applied in order at start: SQLite's `PRAGMA user_version`, PostgreSQL's
//! `schema_version` table record the last one applied.
//!
//! A migration is never edited once released: a change to the schema is a new entry at the end of
//! both lists. PostgreSQL came at version 6: its first entry builds what SQLite's first six did.
//! The tables are the integration contract of the inbox application (see docs/SCHEMA.md).

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: accounts, raw messages, messages, contacts, conversations, events.
    r#"
    CREATE TABLE accounts (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        local_part  TEXT NOT NULL,
        domain      TEXT NOT NULL,
        enabled     INTEGER NOT NULL DEFAULT 1,
        created_at  TEXT NOT NULL,
        UNIQUE (local_part, domain)
    );
    CREATE TABLE retired_addresses (
        account_id  INTEGER NOT NULL REFERENCES accounts(id),
        local_part  TEXT NOT NULL,
        domain      TEXT NOT NULL,
        retired_at  TEXT NOT NULL
    );
    CREATE TABLE raw_messages (
        id    INTEGER PRIMARY KEY,
        data  BLOB NOT NULL
    );
    CREATE TABLE contacts (
        id            INTEGER PRIMARY KEY,
        account_id    INTEGER NOT NULL REFERENCES accounts(id),
        email         TEXT NOT NULL,
        email_key     TEXT NOT NULL,
        name          TEXT,
        source        TEXT NOT NULL,
        opt_in        INTEGER NOT NULL DEFAULT 0,
        lists         TEXT NOT NULL DEFAULT '[]',
        email_status  TEXT NOT NULL DEFAULT 'ok',
        created_at    TEXT NOT NULL,
        UNIQUE (account_id, email_key)
    );
    CREATE TABLE conversations (
        id               INTEGER PRIMARY KEY,
        account_id       INTEGER NOT NULL REFERENCES accounts(id),
        contact_id       INTEGER NOT NULL REFERENCES contacts(id),
        subject          TEXT NOT NULL,
        subject_key      TEXT NOT NULL,
        channel          TEXT NOT NULL DEFAULT 'email',
        status           TEXT NOT NULL DEFAULT 'open',
        message_count    INTEGER NOT NULL DEFAULT 0,
        campaign_id      TEXT,
        automation_id    TEXT,
        created_at       TEXT NOT NULL,
        last_message_at  TEXT NOT NULL
    );
    CREATE INDEX conversations_by_contact ON conversations (account_id, contact_id, subject_key, last_message_at);
    CREATE INDEX conversations_by_activity ON conversations (account_id, last_message_at);
    CREATE TABLE messages (
        id               INTEGER PRIMARY KEY,
        account_id       INTEGER NOT NULL REFERENCES accounts(id),
        queue_id         TEXT NOT NULL,
        raw_id           INTEGER NOT NULL REFERENCES raw_messages(id),
        conversation_id  INTEGER REFERENCES conversations(id),
        contact_id       INTEGER REFERENCES contacts(id),
        dedupe_key       TEXT NOT NULL,
        message_id       TEXT,
        kind             TEXT NOT NULL,
        flags            TEXT NOT NULL DEFAULT '[]',
        from_email       TEXT,
        from_name        TEXT,
        reply_to         TEXT,
        to_json          TEXT NOT NULL DEFAULT '[]',
        cc_json          TEXT NOT NULL DEFAULT '[]',
        subject          TEXT,
        date             TEXT,
        in_reply_to      TEXT,
        references_json  TEXT NOT NULL DEFAULT '[]',
        text             TEXT,
        html             TEXT,
        reply_text       TEXT,
        attachments_json TEXT NOT NULL DEFAULT '[]',
        headers_json     TEXT NOT NULL DEFAULT '{}',
        size             INTEGER NOT NULL,
        tags_json        TEXT NOT NULL DEFAULT '[]',
        campaign_id      TEXT,
        automation_id    TEXT,
        forwarded_by     TEXT,
        original_json    TEXT,
        bounce_json      TEXT,
        envelope_json    TEXT NOT NULL,
        received_at      TEXT NOT NULL,
        UNIQUE (account_id, dedupe_key)
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        type        TEXT NOT NULL,
        account_id  INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        data        TEXT NOT NULL
    );
    CREATE INDEX events_by_account ON events (account_id, id);
    "#,
    // 2: agents' personal addresses, outbound messages the platform registered, system notices.
    r#"
    CREATE TABLE members (
        account_id  INTEGER NOT NULL REFERENCES accounts(id),
        email       TEXT NOT NULL,
        email_key   TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (account_id, email_key)
    );
    CREATE TABLE sent_messages (
        account_id     INTEGER NOT NULL REFERENCES accounts(id),
        message_id     TEXT NOT NULL,
        contact_email  TEXT NOT NULL,
        campaign_id    TEXT,
        automation_id  TEXT,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (account_id, message_id)
    );
    CREATE TABLE notices (
        id          INTEGER PRIMARY KEY,
        account_id  INTEGER NOT NULL REFERENCES accounts(id),
        message_id  INTEGER NOT NULL REFERENCES messages(id),
        kind          TEXT NOT NULL,
        provider      TEXT,
        link          TEXT,
        code          TEXT,
        requested_by  TEXT,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX notices_by_account ON notices (account_id, id);
    "#,
    // 3: sender authentication: verdicts per message, verified contacts, per-account DMARC action.
    r#"
    ALTER TABLE messages ADD COLUMN auth_json TEXT;
    ALTER TABLE messages ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE contacts ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE accounts ADD COLUMN dmarc_reject TEXT;
    "#,
    // 4: server-wide settings kept with the data, such as the generated reply-token key; whether
    // an account's bulk mail creates contacts.
    r#"
    CREATE TABLE settings (
        name        TEXT PRIMARY KEY,
        value       BLOB NOT NULL,
        created_at  TEXT NOT NULL
    );
    ALTER TABLE accounts ADD COLUMN bulk_contacts INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: the signature cut from a reply's new text.
    r#"
    ALTER TABLE messages ADD COLUMN signature TEXT;
    "#,
    // 6: API keys of the HTTP door, kept as hashes.
    r#"
    CREATE TABLE api_keys (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        account_id  INTEGER REFERENCES accounts(id),
        key_hash    TEXT NOT NULL UNIQUE,
        prefix      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    "#,
    // 7: webhook endpoints and their deliveries (the outbox that follows the event log).
    r#"
    CREATE TABLE webhook_endpoints (
        id               INTEGER PRIMARY KEY,
        account_id       INTEGER REFERENCES accounts(id),
        url              TEXT NOT NULL,
        secret           TEXT NOT NULL,
        events           TEXT,
        cursor           INTEGER NOT NULL,
        enabled          INTEGER NOT NULL DEFAULT 1,
        disabled_reason  TEXT,
        created_at       TEXT NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id               INTEGER PRIMARY KEY,
        endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoints(id),
        event_id         INTEGER NOT NULL,
        event_type       TEXT NOT NULL,
        ordering_key     TEXT NOT NULL,
        payload          TEXT NOT NULL,
        status           TEXT NOT NULL DEFAULT 'pending',
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL,
        lease_until      INTEGER NOT NULL DEFAULT 0,
        lease_owner      TEXT,
        is_head          INTEGER NOT NULL DEFAULT 0,
        last_status      INTEGER,
        last_error       TEXT,
        created_at       TEXT NOT NULL,
        delivered_at     TEXT,
        UNIQUE (endpoint_id, event_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending' AND is_head = TRUE;
    CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, ordering_key, status, id);
    "#,
    // 8: the spam filter's verdict on each message it scored.
    r#"
    ALTER TABLE messages ADD COLUMN spam_json TEXT;
    "#,
    // 9: each account's sender rules (allow / block), and where a released message came from.
    r#"
    CREATE TABLE sender_rules (
        account_id  INTEGER NOT NULL REFERENCES accounts(id),
        sender      TEXT NOT NULL,
        rule        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (account_id, sender)
    );
    ALTER TABLE messages ADD COLUMN released_from INTEGER;
    CREATE INDEX messages_released_from ON messages (released_from) WHERE released_from IS NOT NULL;
    CREATE INDEX messages_quarantined ON messages (received_at) WHERE kind = 'spam';
    "#,
    // 10: sessions of the web inbox (signed in with an API key).
    r#"
    CREATE TABLE web_sessions (
        token_hash  TEXT PRIMARY KEY,
        key_id      INTEGER NOT NULL REFERENCES api_keys(id),
        csrf        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  INTEGER NOT NULL
    );
    "#,
    // 11: reads that cost their page (keyset indexes, kinds per conversation, counts kept by the
    // commit), full-text search (FTS5), and raw bytes kept once per delivery, compressed, with
    // their hash; the body compressed beside them. Rows of before keep their form until `inboxd migrate` packs them.
    r#"
    ALTER TABLE raw_messages ADD COLUMN hash BLOB;
    ALTER TABLE raw_messages ADD COLUMN size INTEGER;
    ALTER TABLE raw_messages ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_by_raw ON messages (raw_id);
    CREATE INDEX messages_by_contact ON messages (contact_id, id);
    ALTER TABLE messages ADD COLUMN body BLOB;
    CREATE INDEX messages_by_account ON messages (account_id, id);
    CREATE INDEX messages_by_kind ON messages (account_id, kind, id);
    CREATE INDEX contacts_by_account ON contacts (account_id, id);
    CREATE INDEX retired_by_address ON retired_addresses (local_part, domain);
    ALTER TABLE conversations ADD COLUMN kinds INTEGER NOT NULL DEFAULT 0;
    UPDATE conversations SET kinds = coalesce((SELECT sum(DISTINCT CASE m.kind
        WHEN 'message' THEN 1 WHEN 'forward' THEN 2 WHEN 'auto_reply' THEN 4 WHEN 'bounce' THEN 8
        WHEN 'feedback' THEN 16 WHEN 'system' THEN 32 WHEN 'bulk' THEN 64 ELSE 0 END)
        FROM messages m WHERE m.conversation_id = conversations.id), 0)
      + CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id
        AND m.flags LIKE '%"suspicious"%') THEN 256 ELSE 0 END;
    CREATE INDEX conversations_by_contact_activity ON conversations (contact_id, last_message_at);
    CREATE INDEX conversations_with_forward ON conversations (account_id, last_message_at) WHERE (kinds & 2) <> 0;
    CREATE INDEX conversations_with_auto_reply ON conversations (account_id, last_message_at) WHERE (kinds & 4) <> 0;
    CREATE INDEX conversations_with_bounce ON conversations (account_id, last_message_at) WHERE (kinds & 8) <> 0;
    CREATE INDEX conversations_with_feedback ON conversations (account_id, last_message_at) WHERE (kinds & 16) <> 0;
    CREATE INDEX conversations_with_bulk ON conversations (account_id, last_message_at) WHERE (kinds & 64) <> 0;
    CREATE TABLE account_counts (
        account_id   INTEGER NOT NULL,
        shard        INTEGER NOT NULL,
        messages     INTEGER NOT NULL DEFAULT 0,
        quarantined  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, shard)
    );
    INSERT INTO account_counts (account_id, shard, messages, quarantined)
        SELECT account_id, 0, sum(kind <> 'spam'), sum(kind = 'spam') FROM messages GROUP BY account_id;
    -- The words come folded and split by inboxd (store::search), space separated: FTS5's ascii
    -- tokenizer only splits them again (and takes non-ASCII letters as they are).
    CREATE VIRTUAL TABLE message_search USING fts5 (scope, body, content = '', contentless_delete = 1,
        tokenize = 'ascii');
    INSERT INTO settings (name, value, created_at)
        SELECT 'search_backfill_below', CAST(coalesce(max(id), 0) + 1 AS TEXT), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        FROM messages;
    CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
    CREATE INDEX webhook_deliveries_by_endpoint_status ON webhook_deliveries (endpoint_id, status, id);
    CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (status, id);
    "#,
    // 12: the data's life: erasures of a contact (a log that keeps no address), retention per
    // account, addresses of deleted accounts kept from being issued again; events and deliveries
    // found by the contact or message they are about, quarantined mail by its sender, and outbound
    // messages by their contact (what an erasure looks for).
    r#"
    ALTER TABLE events ADD COLUMN contact_id INTEGER;
    ALTER TABLE events ADD COLUMN conversation_id INTEGER;
    ALTER TABLE events ADD COLUMN message_id INTEGER;
    UPDATE events SET contact_id = json_extract(data, '$.contact_id'),
        conversation_id = json_extract(data, '$.conversation_id'), message_id = json_extract(data, '$.message_id')
        WHERE json_valid(data);
    CREATE INDEX events_by_contact ON events (contact_id) WHERE contact_id IS NOT NULL;
    CREATE INDEX events_by_conversation ON events (conversation_id) WHERE conversation_id IS NOT NULL;
    CREATE INDEX events_by_message ON events (message_id) WHERE message_id IS NOT NULL;
    CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
    CREATE INDEX messages_quarantined_by_sender ON messages (account_id, lower(from_email)) WHERE kind = 'spam';
    CREATE INDEX sent_by_contact ON sent_messages (account_id, lower(contact_email));
    CREATE INDEX api_keys_by_account ON api_keys (account_id);
    CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id);
    CREATE INDEX web_sessions_by_key ON web_sessions (key_id);
    CREATE INDEX retired_by_account ON retired_addresses (account_id);
    CREATE TABLE erasures (
        id            INTEGER PRIMARY KEY,
        account_id    INTEGER NOT NULL,
        contact_id    INTEGER NOT NULL,
        address_hash  TEXT NOT NULL,
        address       TEXT,
        requested_by  TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'running',
        messages      INTEGER NOT NULL DEFAULT 0,
        conversations INTEGER NOT NULL DEFAULT 0,
        quarantined   INTEGER NOT NULL DEFAULT 0,
        started_at    TEXT NOT NULL,
        finished_at   TEXT
    );
    CREATE INDEX erasures_by_account ON erasures (account_id, id);
    CREATE INDEX erasures_running ON erasures (id) WHERE status = 'running';
    ALTER TABLE accounts ADD COLUMN retention_days INTEGER;
    CREATE TABLE deleted_addresses (
        local_part  TEXT NOT NULL,
        domain      TEXT NOT NULL,
        deleted_at  TEXT NOT NULL,
        PRIMARY KEY (local_part, domain)
    );
    "#,
    // 13: FTS5 does not rewrite a segment inside whichever commit finds a tenth of its rows
    // deleted ('deletemerge'): after a retention purge or an erasure every segment qualifies, and
    // the session whose message triggered it waited for the rewrite. The deletion rewrites the
    // index itself, a few pages per transaction (store::scrub).
    r#"
    INSERT INTO message_search (message_search, rank) VALUES ('deletemerge', 0);
    "#,
    // 14: who is in a conversation (the contacts who wrote in it and the addresses their messages
    // copied), the conversations merged into others (so that their ids still answer), and the
    // addresses an outbound message copied. The participants of before: every contact who wrote in
    // a conversation other than its own contact (which needs no row).
    r#"
    CREATE TABLE conversation_participants (
        conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        account_id       INTEGER NOT NULL,
        email_key        TEXT NOT NULL,
        email            TEXT NOT NULL,
        name             TEXT,
        contact_id       INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
        role             TEXT NOT NULL,
        PRIMARY KEY (conversation_id, email_key)
    );
    CREATE INDEX participants_by_address ON conversation_participants (account_id, email_key);
    CREATE INDEX participants_by_contact ON conversation_participants (contact_id);
    CREATE TABLE conversation_merges (
        conversation_id  INTEGER PRIMARY KEY,
        account_id       INTEGER NOT NULL,
        merged_into      INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        merged_at        TEXT NOT NULL
    );
    CREATE INDEX merges_by_target ON conversation_merges (merged_into);
    ALTER TABLE sent_messages ADD COLUMN cc_json TEXT NOT NULL DEFAULT '[]';
    INSERT OR IGNORE INTO conversation_participants (conversation_id, account_id, email_key, email, name, contact_id, role)
        SELECT DISTINCT m.conversation_id, m.account_id, k.email_key, k.email, k.name, k.id, 'contact'
        FROM messages m JOIN contacts k ON k.id = m.contact_id JOIN conversations c ON c.id = m.conversation_id
        WHERE m.contact_id <> c.contact_id;
    "#,
    // 15: addresses are indexed as words of their own (store::search). The mail indexed before is
    // indexed again by `inboxd migrate`, newest first; until then search reads it by phrases.
    SEARCH_INDEXED_AGAIN,
    // 16: an address's word is its account's (store::search), so that an address search needs no
    // account's word beside it. Everything indexed before is indexed again by `inboxd migrate`,
    // newest first; until then search reads it by phrases.
    SEARCH_INDEXED_AGAIN,
    // 17: an event's data and a message's envelope kept packed (store::json_codec); the rows
    // written before keep their text, read as before, until `inboxd migrate` packs them. One host:
    // packed from now on (store::settings::JSON_PACKED).
    r#"
    ALTER TABLE events ADD COLUMN packed BLOB;
    ALTER TABLE messages ADD COLUMN envelope BLOB;
    INSERT INTO settings (name, value, created_at) VALUES ('json_packed', CAST('1' AS BLOB), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ON CONFLICT (name) DO NOTHING;
    "#,
];

/// Moves the search's mark ([`super::search::BACKFILL`]) above the last message: `inboxd migrate`
/// indexes all mail again, newest first, and search reads what lies below the mark by phrases.
const SEARCH_INDEXED_AGAIN: &str = r#"
    INSERT INTO settings (name, value, created_at)
        SELECT 'search_backfill_below', CAST(coalesce(max(id), 0) + 1 AS TEXT), strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        FROM messages WHERE true
        ON CONFLICT (name) DO UPDATE SET value = excluded.value;
    "#;

/// The schema version this build writes.
pub const LATEST: usize = MIGRATIONS.len();

/// PostgreSQL's migrations: (the version it brings the schema to, its statements). The same
/// tables, columns and constraints as SQLite's, in PostgreSQL's types (BIGINT ids from identity
/// columns, BOOLEAN flags, BYTEA bytes; times stay RFC 3339 text, JSON stays text).
pub const POSTGRES_MIGRATIONS: &[(usize, &str)] = &[
    (
        6,
        r#"
    CREATE TABLE accounts (
        id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name           TEXT NOT NULL,
        local_part     TEXT NOT NULL,
        domain         TEXT NOT NULL,
        enabled        BOOLEAN NOT NULL DEFAULT TRUE,
        created_at     TEXT NOT NULL,
        dmarc_reject   TEXT,
        bulk_contacts  BOOLEAN NOT NULL DEFAULT FALSE,
        UNIQUE (local_part, domain)
    );
    CREATE TABLE retired_addresses (
        account_id  BIGINT NOT NULL REFERENCES accounts(id),
        local_part  TEXT NOT NULL,
        domain      TEXT NOT NULL,
        retired_at  TEXT NOT NULL
    );
    CREATE INDEX retired_by_address ON retired_addresses (local_part, domain);
    CREATE TABLE raw_messages (
        id    BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        data  BYTEA NOT NULL
    );
    CREATE TABLE contacts (
        id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id    BIGINT NOT NULL REFERENCES accounts(id),
        email         TEXT NOT NULL,
        email_key     TEXT NOT NULL,
        name          TEXT,
        source        TEXT NOT NULL,
        opt_in        BOOLEAN NOT NULL DEFAULT FALSE,
        lists         TEXT NOT NULL DEFAULT '[]',
        email_status  TEXT NOT NULL DEFAULT 'ok',
        created_at    TEXT NOT NULL,
        verified      BOOLEAN NOT NULL DEFAULT TRUE,
        UNIQUE (account_id, email_key)
    );
    CREATE TABLE conversations (
        id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id       BIGINT NOT NULL REFERENCES accounts(id),
        contact_id       BIGINT NOT NULL REFERENCES contacts(id),
        subject          TEXT NOT NULL,
        subject_key      TEXT NOT NULL,
        channel          TEXT NOT NULL DEFAULT 'email',
        status           TEXT NOT NULL DEFAULT 'open',
        message_count    BIGINT NOT NULL DEFAULT 0,
        campaign_id      TEXT,
        automation_id    TEXT,
        created_at       TEXT NOT NULL,
        last_message_at  TEXT NOT NULL
    );
    CREATE INDEX conversations_by_contact ON conversations (account_id, contact_id, subject_key, last_message_at);
    CREATE INDEX conversations_by_activity ON conversations (account_id, last_message_at);
    CREATE TABLE messages (
        id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id       BIGINT NOT NULL REFERENCES accounts(id),
        queue_id         TEXT NOT NULL,
        raw_id           BIGINT NOT NULL REFERENCES raw_messages(id),
        conversation_id  BIGINT REFERENCES conversations(id),
        contact_id       BIGINT REFERENCES contacts(id),
        dedupe_key       TEXT NOT NULL,
        message_id       TEXT,
        kind             TEXT NOT NULL,
        flags            TEXT NOT NULL DEFAULT '[]',
        from_email       TEXT,
        from_name        TEXT,
        reply_to         TEXT,
        to_json          TEXT NOT NULL DEFAULT '[]',
        cc_json          TEXT NOT NULL DEFAULT '[]',
        subject          TEXT,
        date             TEXT,
        in_reply_to      TEXT,
        references_json  TEXT NOT NULL DEFAULT '[]',
        text             TEXT,
        html             TEXT,
        reply_text       TEXT,
        attachments_json TEXT NOT NULL DEFAULT '[]',
        headers_json     TEXT NOT NULL DEFAULT '{}',
        size             BIGINT NOT NULL,
        tags_json        TEXT NOT NULL DEFAULT '[]',
        campaign_id      TEXT,
        automation_id    TEXT,
        forwarded_by     TEXT,
        original_json    TEXT,
        bounce_json      TEXT,
        envelope_json    TEXT NOT NULL,
        received_at      TEXT NOT NULL,
        auth_json        TEXT,
        verified         BOOLEAN NOT NULL DEFAULT TRUE,
        signature        TEXT,
        UNIQUE (account_id, dedupe_key)
    );
    CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
    -- Event ids are drawn in commit order: every insert takes the events lock (held to COMMIT)
    -- before its id, so an event committed later never has a smaller id than one already
    -- visible, and a follower of `id > cursor` skips nothing (docs/SCHEMA.md).
    CREATE SEQUENCE events_id_seq;
    CREATE TABLE events (
        id          BIGINT PRIMARY KEY,
        type        TEXT NOT NULL,
        account_id  BIGINT NOT NULL,
        created_at  TEXT NOT NULL,
        data        TEXT NOT NULL
    );
    CREATE INDEX events_by_account ON events (account_id, id);
    CREATE FUNCTION events_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(-1);
        NEW.id := nextval('events_id_seq');
        RETURN NEW;
    END
    $$;
    CREATE TRIGGER events_in_commit_order BEFORE INSERT ON events
        FOR EACH ROW EXECUTE FUNCTION events_in_commit_order();
    CREATE TABLE members (
        account_id  BIGINT NOT NULL REFERENCES accounts(id),
        email       TEXT NOT NULL,
        email_key   TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (account_id, email_key)
    );
    CREATE TABLE sent_messages (
        account_id     BIGINT NOT NULL REFERENCES accounts(id),
        message_id     TEXT NOT NULL,
        contact_email  TEXT NOT NULL,
        campaign_id    TEXT,
        automation_id  TEXT,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (account_id, message_id)
    );
    CREATE TABLE notices (
        id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id    BIGINT NOT NULL REFERENCES accounts(id),
        message_id    BIGINT NOT NULL REFERENCES messages(id),
        kind          TEXT NOT NULL,
        provider      TEXT,
        link          TEXT,
        code          TEXT,
        requested_by  TEXT,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX notices_by_account ON notices (account_id, id);
    CREATE TABLE settings (
        name        TEXT PRIMARY KEY,
        value       BYTEA NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name        TEXT NOT NULL,
        account_id  BIGINT REFERENCES accounts(id),
        key_hash    TEXT NOT NULL UNIQUE,
        prefix      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    -- Mail's large columns are compressed with lz4 where the server has it (several times cheaper
    -- than the default pglz, which was a twentieth of the database's CPU under load).
    DO $$
    BEGIN
        ALTER TABLE raw_messages ALTER COLUMN data SET COMPRESSION lz4;
        ALTER TABLE messages ALTER COLUMN text SET COMPRESSION lz4;
        ALTER TABLE messages ALTER COLUMN html SET COMPRESSION lz4;
        ALTER TABLE messages ALTER COLUMN headers_json SET COMPRESSION lz4;
        ALTER TABLE messages ALTER COLUMN attachments_json SET COMPRESSION lz4;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'lz4 is not available: large columns keep the default compression';
    END
    $$;
    "#,
    ),
    (
        7,
        r#"
    CREATE TABLE webhook_endpoints (
        id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id       BIGINT REFERENCES accounts(id),
        url              TEXT NOT NULL,
        secret           TEXT NOT NULL,
        events           TEXT,
        cursor           BIGINT NOT NULL,
        enabled          BOOLEAN NOT NULL DEFAULT TRUE,
        disabled_reason  TEXT,
        created_at       TEXT NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        endpoint_id      BIGINT NOT NULL REFERENCES webhook_endpoints(id),
        event_id         BIGINT NOT NULL,
        event_type       TEXT NOT NULL,
        ordering_key     TEXT NOT NULL,
        payload          TEXT NOT NULL,
        status           TEXT NOT NULL DEFAULT 'pending',
        attempts         BIGINT NOT NULL DEFAULT 0,
        next_attempt_at  BIGINT NOT NULL,
        lease_until      BIGINT NOT NULL DEFAULT 0,
        lease_owner      TEXT,
        is_head          BOOLEAN NOT NULL DEFAULT FALSE,
        last_status      BIGINT,
        last_error       TEXT,
        created_at       TEXT NOT NULL,
        delivered_at     TEXT,
        UNIQUE (endpoint_id, event_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending' AND is_head = TRUE;
    CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, ordering_key, status, id);
    "#,
    ),
    (
        8,
        r#"
    ALTER TABLE messages ADD COLUMN spam_json TEXT;
    "#,
    ),
    (
        9,
        r#"
    CREATE TABLE sender_rules (
        account_id  BIGINT NOT NULL REFERENCES accounts(id),
        sender      TEXT NOT NULL,
        rule        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (account_id, sender)
    );
    ALTER TABLE messages ADD COLUMN released_from BIGINT;
    CREATE INDEX messages_released_from ON messages (released_from) WHERE released_from IS NOT NULL;
    CREATE INDEX messages_quarantined ON messages (received_at) WHERE kind = 'spam';
    "#,
    ),
    (
        10,
        r#"
    CREATE TABLE web_sessions (
        token_hash  TEXT PRIMARY KEY,
        key_id      BIGINT NOT NULL REFERENCES api_keys(id),
        csrf        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  BIGINT NOT NULL
    );
    "#,
    ),
    (
        11,
        r#"
    ALTER TABLE raw_messages ADD COLUMN hash BYTEA, ADD COLUMN size BIGINT, ADD COLUMN codec BIGINT NOT NULL DEFAULT 0;
    -- Compressed by us already: kept out of line as they are, not compressed again.
    ALTER TABLE raw_messages ALTER COLUMN data SET STORAGE EXTERNAL;
    CREATE INDEX messages_by_raw ON messages (raw_id);
    CREATE INDEX messages_by_contact ON messages (contact_id, id);
    ALTER TABLE messages ADD COLUMN body BYTEA;
    ALTER TABLE messages ALTER COLUMN body SET STORAGE EXTERNAL;
    CREATE INDEX messages_by_account ON messages (account_id, id);
    CREATE INDEX messages_by_kind ON messages (account_id, kind, id);
    CREATE INDEX contacts_by_account ON contacts (account_id, id);
    ALTER TABLE conversations ADD COLUMN kinds BIGINT NOT NULL DEFAULT 0;
    UPDATE conversations c SET kinds = coalesce((SELECT bit_or(CASE m.kind
        WHEN 'message' THEN 1 WHEN 'forward' THEN 2 WHEN 'auto_reply' THEN 4 WHEN 'bounce' THEN 8
        WHEN 'feedback' THEN 16 WHEN 'system' THEN 32 WHEN 'bulk' THEN 64 ELSE 0 END
        | CASE WHEN m.flags LIKE '%"suspicious"%' THEN 256 ELSE 0 END)
        FROM messages m WHERE m.conversation_id = c.id), 0);
    DROP INDEX conversations_by_activity;
    CREATE INDEX conversations_by_activity ON conversations (account_id, last_message_at, id);
    CREATE INDEX conversations_by_contact_activity ON conversations (contact_id, last_message_at, id);
    CREATE INDEX conversations_with_forward ON conversations (account_id, last_message_at, id) WHERE (kinds & 2) <> 0;
    CREATE INDEX conversations_with_auto_reply ON conversations (account_id, last_message_at, id) WHERE (kinds & 4) <> 0;
    CREATE INDEX conversations_with_bounce ON conversations (account_id, last_message_at, id) WHERE (kinds & 8) <> 0;
    CREATE INDEX conversations_with_feedback ON conversations (account_id, last_message_at, id) WHERE (kinds & 16) <> 0;
    CREATE INDEX conversations_with_bulk ON conversations (account_id, last_message_at, id) WHERE (kinds & 64) <> 0;
    CREATE TABLE account_counts (
        account_id   BIGINT NOT NULL,
        shard        BIGINT NOT NULL,
        messages     BIGINT NOT NULL DEFAULT 0,
        quarantined  BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, shard)
    );
    INSERT INTO account_counts (account_id, shard, messages, quarantined)
        SELECT account_id, 0, count(*) FILTER (WHERE kind <> 'spam'), count(*) FILTER (WHERE kind = 'spam')
        FROM messages GROUP BY account_id;
    CREATE TABLE message_search (
        message_id  BIGINT PRIMARY KEY,
        account_id  BIGINT NOT NULL,
        doc         tsvector NOT NULL
    );
    CREATE INDEX message_search_doc ON message_search USING gin (doc);
    CREATE INDEX message_search_by_account ON message_search (account_id, message_id);
    INSERT INTO settings (name, value, created_at)
        SELECT 'search_backfill_below', convert_to(CAST(coalesce(max(id), 0) + 1 AS TEXT), 'UTF8'),
               to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        FROM messages;
    CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
    CREATE INDEX webhook_deliveries_by_endpoint_status ON webhook_deliveries (endpoint_id, status, id);
    CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (status, id);
    "#,
    ),
    (
        12,
        r#"
    ALTER TABLE events ADD COLUMN contact_id BIGINT;
    ALTER TABLE events ADD COLUMN conversation_id BIGINT;
    ALTER TABLE events ADD COLUMN message_id BIGINT;
    UPDATE events SET contact_id = CAST(CAST(data AS JSONB)->>'contact_id' AS BIGINT),
        conversation_id = CAST(CAST(data AS JSONB)->>'conversation_id' AS BIGINT),
        message_id = CAST(CAST(data AS JSONB)->>'message_id' AS BIGINT)
        WHERE data LIKE '%\_id%';
    CREATE INDEX events_by_contact ON events (contact_id) WHERE contact_id IS NOT NULL;
    CREATE INDEX events_by_conversation ON events (conversation_id) WHERE conversation_id IS NOT NULL;
    CREATE INDEX events_by_message ON events (message_id) WHERE message_id IS NOT NULL;
    CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
    CREATE INDEX messages_quarantined_by_sender ON messages (account_id, lower(from_email)) WHERE kind = 'spam';
    CREATE INDEX sent_by_contact ON sent_messages (account_id, lower(contact_email));
    CREATE INDEX api_keys_by_account ON api_keys (account_id);
    CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id);
    CREATE INDEX web_sessions_by_key ON web_sessions (key_id);
    CREATE INDEX retired_by_account ON retired_addresses (account_id);
    CREATE TABLE erasures (
        id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        account_id    BIGINT NOT NULL,
        contact_id    BIGINT NOT NULL,
        address_hash  TEXT NOT NULL,
        address       TEXT,
        requested_by  TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'running',
        messages      BIGINT NOT NULL DEFAULT 0,
        conversations BIGINT NOT NULL DEFAULT 0,
        quarantined   BIGINT NOT NULL DEFAULT 0,
        started_at    TEXT NOT NULL,
        finished_at   TEXT
    );
    CREATE INDEX erasures_by_account ON erasures (account_id, id);
    CREATE INDEX erasures_running ON erasures (id) WHERE status = 'running';
    ALTER TABLE accounts ADD COLUMN retention_days BIGINT;
    CREATE TABLE deleted_addresses (
        local_part  TEXT NOT NULL,
        domain      TEXT NOT NULL,
        deleted_at  TEXT NOT NULL,
        PRIMARY KEY (local_part, domain)
    );
    "#,
    ),
    // 13 is SQLite's FTS5 alone.
    (13, "SELECT 1;"),
    (
        14,
        r#"
    CREATE TABLE conversation_participants (
        conversation_id  BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        account_id       BIGINT NOT NULL,
        email_key        TEXT NOT NULL,
        email            TEXT NOT NULL,
        name             TEXT,
        contact_id       BIGINT REFERENCES contacts(id) ON DELETE CASCADE,
        role             TEXT NOT NULL,
        PRIMARY KEY (conversation_id, email_key)
    );
    CREATE INDEX participants_by_address ON conversation_participants (account_id, email_key);
    CREATE INDEX participants_by_contact ON conversation_participants (contact_id);
    CREATE TABLE conversation_merges (
        conversation_id  BIGINT PRIMARY KEY,
        account_id       BIGINT NOT NULL,
        merged_into      BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        merged_at        TEXT NOT NULL
    );
    CREATE INDEX merges_by_target ON conversation_merges (merged_into);
    ALTER TABLE sent_messages ADD COLUMN cc_json TEXT NOT NULL DEFAULT '[]';
    INSERT INTO conversation_participants (conversation_id, account_id, email_key, email, name, contact_id, role)
        SELECT DISTINCT m.conversation_id, m.account_id, k.email_key, k.email, k.name, k.id, 'contact'
        FROM messages m JOIN contacts k ON k.id = m.contact_id JOIN conversations c ON c.id = m.conversation_id
        WHERE m.contact_id <> c.contact_id
        ON CONFLICT DO NOTHING;
    "#,
    ),
    // 15: PostgreSQL searches an address as its phrase (store::search), so its older mail needs no
    // indexing again.
    (15, "SELECT 1;"),
    // 16: PostgreSQL's new search entries hold no address words (it searches addresses as
    // phrases); the old ones' are never searched.
    (16, "SELECT 1;"),
    // 17: an event's data and a message's envelope kept packed (store::json_codec), once every
    // host reads them (store::settings::JSON_PACKED): at once for a database with no events yet,
    // else after `inboxd migrate --all-hosts-upgraded`.
    (
        17,
        r#"
    ALTER TABLE events ADD COLUMN packed BYTEA;
    ALTER TABLE messages ADD COLUMN envelope BYTEA;
    INSERT INTO settings (name, value, created_at)
        SELECT 'json_packed', convert_to('1', 'UTF8'), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        WHERE NOT EXISTS (SELECT 1 FROM events)
        ON CONFLICT (name) DO NOTHING;
    "#,
    ),
];

/// The advisory lock a PostgreSQL migration holds: one host migrates, the others wait for it.
pub const MIGRATION_LOCK: i64 = -2;

/// The message a build gives when the database was migrated by a newer one.
pub fn too_new_message(found: usize) -> String {
    format!("database schema version {found} is newer than this inboxd knows ({LATEST}): upgrade inboxd")
}

/// The schema version a database is at.
pub fn version(conn: &Connection) -> rusqlite::Result<usize> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize)
}

/// Brings a new database to schema `version` only: what an older build made (tests of upgrades).
pub fn migrate_to(conn: &mut Connection, version: usize) -> rusqlite::Result<()> {
    for sql in MIGRATIONS.iter().take(version.min(LATEST)).skip(self::version(conn)?) {
        conn.execute_batch(sql)?;
    }
    conn.pragma_update(None, "user_version", version.min(LATEST) as i64)
}

/// Brings the database up to [`LATEST`], each migration in its own transaction.
///
/// Two processes may open a fresh file at once (two `inboxd` commands, a CLI beside the server):
/// each migration reads the version again inside its write transaction, so only the first to take
/// the lock applies it, and the other finds it done.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current = version(conn)?;
    if current > LATEST {
        return Err(too_new(current));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = version(&txn)?;
        if now > LATEST {
            return Err(too_new(now));
        }
        if now <= index {
            txn.execute_batch(sql)?;
            txn.pragma_update(None, "user_version", (index + 1) as i64)?;
        }
        txn.commit()?;
    }
    Ok(())
}

fn too_new(found: usize) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some(too_new_message(found)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_migrations_reach_the_same_version() {
        assert_eq!(POSTGRES_MIGRATIONS.last().map(|m| m.0), Some(LATEST));
    }

    #[test]
    fn two_processes_migrating_a_fresh_file_at_once_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.db");
        for _ in 0..10 {
            let _ = std::fs::remove_file(&path);
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (path, barrier) = (path.clone(), std::sync::Arc::clone(&barrier));
                    std::thread::spawn(move || {
                        let mut conn = Connection::open(&path).unwrap();
                        conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                        barrier.wait();
                        migrate(&mut conn)
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap().expect("both migrate without `table already exists`");
            }
            assert_eq!(version(&Connection::open(&path).unwrap()).unwrap(), LATEST);
        }
    }

    #[test]
    fn conversations_of_before_get_the_other_contacts_who_wrote_as_participants() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 13).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, local_part, domain, created_at) VALUES (1, 'Acme', 'acme', 'in.example', 't');
             INSERT INTO contacts (id, account_id, email, email_key, name, source, created_at)
                 VALUES (1, 1, 'Alice@x.example', 'alice@x.example', 'Alice', 'email', 't'),
                        (2, 1, 'bob@x.example', 'bob@x.example', NULL, 'email', 't');
             INSERT INTO conversations (id, account_id, contact_id, subject, subject_key, created_at, last_message_at)
                 VALUES (1, 1, 1, 'Hi', 'hi', 't', 't');
             INSERT INTO raw_messages (id, data) VALUES (1, x'00');
             INSERT INTO messages (account_id, queue_id, raw_id, conversation_id, contact_id, dedupe_key, kind, size,
                 envelope_json, received_at)
                 VALUES (1, 'q', 1, 1, 1, 'a', 'message', 1, '{}', 't'), (1, 'q', 1, 1, 2, 'b', 'message', 1, '{}', 't'),
                        (1, 'q', 1, 1, 2, 'c', 'message', 1, '{}', 't');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String, i64, String)> = conn
            .prepare("SELECT conversation_id, email_key, contact_id, role FROM conversation_participants")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [(1, "bob@x.example".to_string(), 2, "contact".to_string())]);
    }

    #[test]
    fn migrations_apply_once_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v as usize, LATEST);
    }
}
