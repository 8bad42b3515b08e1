-- record_terms keeps only its search index. The (record_id) index existed so an update or delete
-- could remove a record's terms by record id; those paths now recompute the record's old terms from
-- its decrypted values and remove exactly those through record_terms_lookup_idx. Dropping it roughly
-- halves the cost of writing terms, which dominates bulk imports (about nine terms per record).
DROP INDEX IF EXISTS record_terms_record_idx;
