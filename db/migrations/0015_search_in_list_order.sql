-- A search by a person's name reads the contacts of each full name or last
-- name its prefix covers through that name's own index entries, which hold
-- them in the list's order (company name, then id). The merge of a few such
-- runs stops at a page, however the matches are spread over the list; a
-- walk of the list looking for them could read all of it.
DROP INDEX contacts_full_name_key;
DROP INDEX contacts_last_name_key;
CREATE INDEX contacts_full_name_key ON contacts(lower(first_name || ' ' || last_name), company_name COLLATE NOCASE, id);
CREATE INDEX contacts_last_name_key ON contacts(lower(last_name), company_name COLLATE NOCASE, id);
