-- A text filter walks one of the person's list indexes (newest, kind or
-- amount order) and checks each row for its words and for being within its
-- time. expires_at was in none of them and words only in the newest, so
-- every row walked cost a seek into the table: a search for two common words
-- that are rarely together, which walks a few thousand rows, took twice as
-- long in newest order and eight times as long largest first. Each walk index
-- now carries both, so the walk reads the table only for the rows it lists.
--
-- word_bits (see wordBit in db/approvals_waiting.go) lets the walk pass over
-- most rows with one integer test before it searches their words. The bit
-- of a word is computed here exactly as wordBitSQL writes it.
ALTER TABLE approval_waiting ADD COLUMN word_bits INTEGER NOT NULL DEFAULT 0;
UPDATE approval_waiting SET word_bits = coalesce((SELECT sum(DISTINCT 1 << ((coalesce(unicode(substr(aw.word, 1, 1)), 0) * 961
    + coalesce(unicode(substr(aw.word, 2, 1)), 0) * 31 + coalesce(unicode(substr(aw.word, 3, 1)), 0)) % 63))
    FROM approval_words aw WHERE aw.request_id = approval_waiting.request_id), 0);
DROP INDEX approval_waiting_newest;
CREATE INDEX approval_waiting_newest ON approval_waiting(user_id, created_at, request_id, expires_at, word_bits, words);
DROP INDEX approval_waiting_kind;
CREATE INDEX approval_waiting_kind ON approval_waiting(user_id, kind, created_at, request_id, expires_at, word_bits, words);
DROP INDEX approval_waiting_amount;
CREATE INDEX approval_waiting_amount ON approval_waiting(user_id, amount_sort, request_id, expires_at, word_bits, words);
