-- records has one index, its primary key (dataset_id, id), instead of two: the key (id) and
-- records_dataset_idx (dataset_id, id).
--
-- Every statement that reads or writes a record names its dataset as well as its id (reads, updates,
-- deletes, searches, exports), and a record belongs to exactly one dataset for its whole life, so the
-- pair is what is looked up and what must be unique. The second index cost every write of a record
-- its own B-tree insert: loading 200,000 records by COPY took 12.1–17.0 µs of PostgreSQL CPU a record
-- with the one index against 13.7–19.3 with both (bench/import-pg-split.ts, three runs; ADR 0020).
-- Ids are UUIDv7 drawn from 74 random bits, so they stay unique across datasets as before in practice;
-- nothing refers to a record by its id alone (record_terms' keys name the dataset's field, the audit
-- log names the dataset beside the ids).

CREATE UNIQUE INDEX records_dataset_id_key ON records (dataset_id, id);
ALTER TABLE records DROP CONSTRAINT records_pkey;
ALTER TABLE records ADD CONSTRAINT records_pkey PRIMARY KEY USING INDEX records_dataset_id_key;
DROP INDEX records_dataset_idx;
