-- 0002 attachments: the content of statement attachments.
--
-- Statements name their attachments by SHA-256, so content is kept once
-- per store and hash, whichever statements carry it. The writer inserts
-- it in the transaction that stores those statements.

CREATE TABLE attachments (
    store_id integer NOT NULL,
    sha2 text NOT NULL,
    content_type text NOT NULL,
    content bytea NOT NULL,
    stored timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_pkey PRIMARY KEY (store_id, sha2),
    CONSTRAINT attachments_sha2_hex CHECK (sha2 ~ '^[0-9a-f]{64}$')
);
