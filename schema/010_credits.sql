-- 010: late usage that went down is a credit (issue 10; README "Finance", late usage).
--
-- A final month whose usage went down after it was billed is credited on the customer's next
-- draft, as adjustment lines (negative), like an increase is billed. An invoice's total never
-- goes below 0: when its credits are larger than the rest, a line "Credit carried forward to the
-- next invoice" brings it to 0 and invoices.credit_carried keeps the rest; the customer's next
-- draft brings forward the credit_carried of its latest final invoice (by seq) as a negative
-- line. So: invoice_adjustments.amount may be negative (a credit for that month),
-- invoices.adjustments too, as long as subtotal + topup + adjustments (the amount taxed) is not.
ALTER TABLE invoices DROP CONSTRAINT invoices_adjustments_check,
    ADD CONSTRAINT invoices_taxed_not_negative CHECK (subtotal + topup + adjustments >= 0),
    ADD COLUMN credit_carried numeric NOT NULL DEFAULT 0 CHECK (credit_carried >= 0);
ALTER TABLE invoice_adjustments DROP CONSTRAINT invoice_adjustments_amount_check;
