-- A text filter walks one of the person's list indexes (newest, kind or
-- amount order) and checks each row for its words and for being within its
-- time. expires_at was in none of them and words only in the newest, so
-- every row walked cost a seek into the table: a search for two common words
-- that are rarely together, which walks a few thousand rows, took twice as
-- long in newest order and eight times as long largest first. Each walk index
-- now carries both, so the walk reads the table only for the rows it lists.
DROP INDEX approval_waiting_newest;
CREATE INDEX approval_waiting_newest ON approval_waiting(user_id, created_at, request_id, expires_at, words);
DROP INDEX approval_waiting_kind;
CREATE INDEX approval_waiting_kind ON approval_waiting(user_id, kind, created_at, request_id, expires_at, words);
DROP INDEX approval_waiting_amount;
CREATE INDEX approval_waiting_amount ON approval_waiting(user_id, amount_sort, request_id, expires_at, words);
