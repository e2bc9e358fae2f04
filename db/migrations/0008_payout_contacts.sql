-- Payouts to contacts, and payouts that settle a vendor's request to be
-- paid. See db/payouts.go (Propose, ProposeFromVendorRequest) and
-- db/dispatch.go.
--
-- contact_id: the payout was proposed to a contact; its account and IFSC
-- are the contact's approved details at proposal time, checked again when
-- the payout is approved. A PayMate payout to a synced contact is booked by
-- its ContactXpressID.
--
-- vendor_request_id and provider_order_id: a vendor's request to be paid
-- already waits at the provider under the vendor's OrderID; paying it means
-- approving that order, not booking a new one. provider_order_id is the
-- order the provider knows the payout by; NULL means the payout's own id.
ALTER TABLE payouts ADD COLUMN contact_id TEXT REFERENCES contacts(id);
ALTER TABLE payouts ADD COLUMN vendor_request_id INTEGER REFERENCES vendor_requests(id);
ALTER TABLE payouts ADD COLUMN provider_order_id TEXT;
CREATE INDEX payouts_contact ON payouts(contact_id, created_at) WHERE contact_id IS NOT NULL;
-- One live payout per vendor request: a second proposal while one waits or
-- is under way would pay the vendor twice.
CREATE UNIQUE INDEX payouts_vendor_request ON payouts(vendor_request_id)
    WHERE vendor_request_id IS NOT NULL AND state NOT IN ('rejected', 'cancelled');
