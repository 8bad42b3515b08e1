-- A record's public and internal fields are stored as json (their text, checked to be JSON), not jsonb.
--
-- Nothing queries inside them: readers take the whole object (the read statements, the export's
-- binary COPY of public::text). jsonb parses every value into its binary form on the way in and prints
-- it back to text on the way out; an import of 1,000,000 contacts spent about 5 µs of PostgreSQL CPU a
-- record on that parse alone (ADR 0018). json keeps the text as written (JSON.stringify of the values,
-- in the dataset's field order); existing rows keep jsonb's text form, which readers also accept.

ALTER TABLE records ALTER COLUMN public TYPE json USING public::json;
