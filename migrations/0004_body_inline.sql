-- 0004 body inline: statement bodies stay in the row, uncompressed.
--
-- A GET of statements reads every body it returns. With PostgreSQL's
-- defaults a row over about 2 KB has its body compressed with pglz and
-- often moved to the TOAST table, so reading a page of 50 answered
-- questions (2-3 KB each, the commonest large statement) cost 50 TOAST
-- index lookups and 50 decompressions, and storing them cost 50 pglz
-- compressions. Keeping rows of up to a page inline and uncompressed
-- removes both, for about 7% more disk per statement (3,901 bytes
-- instead of 3,656 on the benchmark's Storyline-shaped statements).
-- Bodies too large for that are compressed with lz4, which is several
-- times faster than pglz in both directions.
--
-- Rows stored before this migration keep their form until rewritten.

ALTER TABLE statements SET (toast_tuple_target = 8160);
ALTER TABLE statements ALTER COLUMN body SET COMPRESSION lz4;
