-- The queue sorted by amount orders by coalesce(amount_paise, -1) (requests
-- without an amount last); only an index on that expression spares SQLite a
-- sort of every pending request.
CREATE INDEX approval_requests_amount_sort ON approval_requests(state, coalesce(amount_paise, -1), id);
