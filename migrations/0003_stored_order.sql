-- 0003 stored order: "stored" never decreases along seq.
--
-- The writer takes each group's stored time from this row, as the later
-- of the clock and the previous group's time, and writes it back in the
-- group's transaction (under the writer lock). A clock that steps back
-- therefore cannot make a later statement look older, and queries can
-- turn since and until into bounds on seq.

CREATE TABLE writer_clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    stored timestamptz NOT NULL
);

INSERT INTO writer_clock (stored)
SELECT coalesce(max(stored), '-infinity') FROM statements;
