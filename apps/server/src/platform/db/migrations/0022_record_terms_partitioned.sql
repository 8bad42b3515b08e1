-- Search terms partitioned by dataset (ADR 0021).
--
-- record_terms becomes a table partitioned by range of its key, one partition a dataset, so that an
-- import can build the index of its own dataset's terms (one parallel sort, several times cheaper than
-- inserting into the index) without the table-wide ACCESS EXCLUSIVE lock that dropping the one index
-- took: searches and writes in every other dataset go on during the import.
--
-- The key stays record_term(field id, term) = int4send(field id) || term (migration 0019); no column is
-- added. Each dataset gets a block of 256 field ids, `datasets.term_block`, and a field's id is
-- term_block × 256 + position, so the dataset's terms are exactly the keys in
-- [int4send(block × 256), int4send((block + 1) × 256)): the partition's bounds. A dataset has at most
-- 200 fields. A search states term = record_term(f, t) or a range inside one field, so PostgreSQL
-- prunes it to one partition when it plans the statement and locks no other.
--
-- Existing field ids were identity values, not grouped by dataset: they are renumbered, and every
-- existing term's first four bytes rewritten to the new id (the term bytes themselves are unchanged).

CREATE SEQUENCE dataset_term_blocks AS integer MINVALUE 1 MAXVALUE 8388606;
ALTER TABLE datasets ADD COLUMN term_block integer;
UPDATE datasets d SET term_block = b.block
  FROM (SELECT id, nextval('dataset_term_blocks')::integer AS block FROM (SELECT id FROM datasets ORDER BY created_at, id) o) b
  WHERE b.id = d.id;
ALTER TABLE datasets
  ALTER COLUMN term_block SET DEFAULT nextval('dataset_term_blocks'),
  ALTER COLUMN term_block SET NOT NULL,
  ADD CONSTRAINT datasets_term_block_key UNIQUE (term_block);
ALTER SEQUENCE dataset_term_blocks OWNED BY datasets.term_block;
CREATE FUNCTION mamori_term_block_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a dataset''s term block never changes';
END $$;
CREATE TRIGGER datasets_term_block_fixed BEFORE UPDATE OF term_block ON datasets
  FOR EACH ROW WHEN (OLD.term_block IS DISTINCT FROM NEW.term_block) EXECUTE FUNCTION mamori_term_block_fixed();

-- Field ids: term_block × 256 + position, set by the database when a field is added.
CREATE TEMP TABLE term_field_renumbered ON COMMIT DROP AS
  SELECT f.term_field AS old_field, d.term_block * 256 + f.position AS new_field
  FROM dataset_fields f JOIN datasets d ON d.id = f.dataset_id;
ALTER TABLE dataset_fields ADD CONSTRAINT dataset_fields_position_check CHECK (position >= 0 AND position < 256);
ALTER TABLE dataset_fields ALTER COLUMN term_field DROP IDENTITY;
ALTER TABLE dataset_fields DROP CONSTRAINT dataset_fields_term_field_key;
UPDATE dataset_fields f SET term_field = d.term_block * 256 + f.position FROM datasets d WHERE d.id = f.dataset_id;
ALTER TABLE dataset_fields ADD CONSTRAINT dataset_fields_term_field_key UNIQUE (term_field);

CREATE FUNCTION mamori_dataset_field_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.term_field := (SELECT term_block FROM datasets WHERE id = NEW.dataset_id) * 256 + NEW.position;
  RETURN NEW;
END $$;
CREATE TRIGGER dataset_fields_term_field BEFORE INSERT OR UPDATE OF dataset_id, position ON dataset_fields
  FOR EACH ROW EXECUTE FUNCTION mamori_dataset_field_id();

-- The partitioned table, filled from the old one with the renumbered keys.
ALTER TABLE record_terms RENAME TO record_terms_unpartitioned;
ALTER INDEX record_terms_lookup_idx RENAME TO record_terms_unpartitioned_idx;
CREATE TABLE record_terms (
  term       bytea NOT NULL,
  record_id  uuid NOT NULL
) PARTITION BY RANGE (term);

-- The partition of the dataset whose block is `block` is named record_terms_<block>.
--
-- mamori_term_table creates a table for a block's terms, not attached: its CHECK equals the
-- partition's bounds, so every row is checked as it is written and ATTACH PARTITION needs no scan.
CREATE FUNCTION mamori_term_table(name text, block integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I (term bytea NOT NULL CONSTRAINT term_bounds CHECK (term >= %L::bytea AND term < %L::bytea), record_id uuid NOT NULL)',
    name, int4send(block * 256), int4send((block + 1) * 256));
END $$;

-- Attaches a table made by mamori_term_table as the block's partition. Takes SHARE UPDATE EXCLUSIVE on
-- record_terms (reads and writes go on); an index of the table equal to record_terms_lookup_idx
-- becomes that index's partition, otherwise PostgreSQL builds one.
CREATE FUNCTION mamori_attach_term_partition(name text, block integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE record_terms ATTACH PARTITION %I FOR VALUES FROM (%L::bytea) TO (%L::bytea)',
    name, int4send(block * 256), int4send((block + 1) * 256));
END $$;

-- A dataset's (empty) partition, created with the dataset's row by the trigger below.
CREATE FUNCTION mamori_create_term_partition(block integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM mamori_term_table('record_terms_' || block, block);
  PERFORM mamori_attach_term_partition('record_terms_' || block, block);
END $$;
CREATE FUNCTION mamori_dataset_term_partition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM mamori_create_term_partition(NEW.term_block);
  RETURN NULL;
END $$;

-- The index of a table made by mamori_term_table, as record_terms_lookup_idx indexes each partition
-- (a migration that changes that index replaces this function too).
CREATE FUNCTION mamori_index_term_table(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE INDEX %I ON %I (term, record_id)', name || '_idx', name);
END $$;

-- Replaces the block's partition by `loaded` (made by mamori_term_table, holding the partition's
-- terms and more, and indexed by mamori_index_term_table), inside the caller's transaction.
--
-- Detaching needs ACCESS EXCLUSIVE on record_terms until commit, so every search waits for the rest of
-- the transaction: the caller swaps last. The lock is asked for `attempts` times, each waiting at most
-- `wait_ms`, so that one long reader cannot make every search queue behind the swap. When it is not
-- had, the partition stays and the terms it lacks are inserted into it through its index (slower,
-- no strong lock). Returns whether the partition was swapped.
CREATE FUNCTION mamori_swap_term_partition(block integer, loaded text, attempts integer, wait_ms integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'record_terms_' || block;
  previous text := current_setting('lock_timeout');
BEGIN
  FOR i IN 1 .. attempts LOOP
    BEGIN
      PERFORM set_config('lock_timeout', wait_ms || 'ms', true);
      LOCK TABLE ONLY record_terms IN ACCESS EXCLUSIVE MODE;
      PERFORM set_config('lock_timeout', previous, true);
      EXECUTE format('ALTER TABLE record_terms DETACH PARTITION %I', part);
      EXECUTE format('DROP TABLE %I', part);
      EXECUTE format('ALTER TABLE %I RENAME TO %I', loaded, part);
      EXECUTE format('ALTER INDEX %I RENAME TO %I', loaded || '_idx', part || '_term_record_id_idx');
      PERFORM mamori_attach_term_partition(part, block);
      RETURN true;
    EXCEPTION WHEN lock_not_available THEN
      PERFORM set_config('lock_timeout', previous, true);
      PERFORM pg_sleep(i * wait_ms / 1000.0);
    END;
  END LOOP;
  EXECUTE format('INSERT INTO %1$I SELECT term, record_id FROM (SELECT term, record_id FROM %2$I EXCEPT ALL SELECT term, record_id FROM %1$I) n ORDER BY term, record_id',
    part, loaded);
  EXECUTE format('DROP TABLE %I', loaded);
  RETURN false;
END $$;

DO $$
DECLARE b integer;
BEGIN
  FOR b IN SELECT term_block FROM datasets ORDER BY term_block LOOP
    PERFORM mamori_create_term_partition(b);
  END LOOP;
END $$;

-- Terms of fields that no longer exist (none are expected) have no dataset and are not kept.
INSERT INTO record_terms (term, record_id)
  SELECT record_term(m.new_field, substring(t.term FROM 5)), t.record_id
  FROM record_terms_unpartitioned t JOIN term_field_renumbered m ON int4send(m.old_field) = substring(t.term FOR 4)
  ORDER BY 1, 2;
DROP TABLE record_terms_unpartitioned;
CREATE INDEX record_terms_lookup_idx ON record_terms (term, record_id);
CREATE TRIGGER datasets_term_partition AFTER INSERT ON datasets
  FOR EACH ROW EXECUTE FUNCTION mamori_dataset_term_partition();
