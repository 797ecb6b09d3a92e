-- Seed rows of the legacy ERP (schema.sql), awkward ones included: a draft and a cancelled
-- invoice, a credit note, a partly paid invoice, an order in production (40) and one in a
-- state the spec does not translate (55), a customer invoiced in EUR, a project on hold.

INSERT INTO cust (cust_no, cust_name, curr, credit_lim, country, vat_no, disc_pct, pay_days)
VALUES ('C-1001', 'Fjordline Maskin AS', 'NOK', 250000.00, 'NO', 'NO912345678MVA', 2.50, 30);
INSERT INTO cust (cust_no, cust_name, curr, credit_lim, country, vat_no, disc_pct, pay_days)
VALUES ('C-1002', 'Brenner Kühltechnik GmbH', 'EUR', 40000.00, 'DE', 'DE123456789', NULL, 14);
INSERT INTO cust (cust_no, cust_name, curr, credit_lim, country, vat_no, disc_pct, pay_days)
VALUES ('C-1003', 'O''Neill & Sons Ltd', 'NOK', NULL, 'IE', NULL, NULL, NULL);

INSERT INTO supp (supp_no, supp_name, curr, country) VALUES ('S-501', 'Stålverk Nord AS', 'NOK', 'NO');
INSERT INTO supp (supp_no, supp_name, curr, country) VALUES ('S-502', 'Lager Logistik AB', 'SEK', 'SE');

INSERT INTO proj (proj_no, cust_no, proj_name, budget, phase, start_dt)
VALUES ('P-77', 'C-1001', 'Kaianlegg fase 2', 1200000.00, 1, '2026-02-01');
INSERT INTO proj (proj_no, cust_no, proj_name, budget, phase, start_dt)
VALUES ('P-78', 'C-1001', 'Service avtale', NULL, 5, NULL);
INSERT INTO proj (proj_no, cust_no, proj_name, budget, phase, start_dt)
VALUES ('P-80', 'C-1002', 'Kälteanlage Halle 3', 80000.00, 9, '2025-05-12');

INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-2001', 'C-1001', 10, '2026-11-20', 1000.00, 1250.00, 'NOK', 2, 3, 25.00);
INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-2002', 'C-1001', 20, '2026-11-02', 8000.00, 10000.00, 'NOK', 1, 1, 25.00);
INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-2003', 'C-1001', 40, '2026-10-15', 24000.00, 30000.00, 'NOK', 1, 4, 25.00);
INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-2004', 'C-1001', 70, '2026-09-01', 40000.00, 50000.00, 'NOK', 1, 7, 25.00);
INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-2005', 'C-1001', 90, '2026-08-11', 500.00, 625.00, 'NOK', 1, 2, 25.00);
INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-2006', 'C-1001', 55, '2026-11-28', 300.00, 375.00, 'NOK', 1, 1, 25.00);
INSERT INTO ord_hdr (ord_no, cust_no, ord_stat, ord_dt, net_amt, gross_amt, curr, line_cnt, rev_no, tax_pct)
VALUES ('SO-3001', 'C-1002', 30, '2026-11-05', 7999.99, 9519.99, 'EUR', 1, 1, 19.00);

INSERT INTO ord_line (line_id, ord_no, item_no, descr, qty, unit_price, disc_pct, line_amt, dlv_dt, rev_no)
VALUES (1, 'SO-2001', 'ITM-10', 'Hydraulikkslange 2 m', 4.000, 150.00, 0.00, 600.00, '2026-12-15', 2);
INSERT INTO ord_line (line_id, ord_no, item_no, descr, qty, unit_price, disc_pct, line_amt, dlv_dt, rev_no)
VALUES (2, 'SO-2001', 'ITM-11', 'Montering', 2.500, 160.00, 0.00, 400.00, NULL, 1);
INSERT INTO ord_line (line_id, ord_no, item_no, descr, qty, unit_price, disc_pct, line_amt, dlv_dt, rev_no)
VALUES (3, 'SO-2002', 'ITM-20', 'Pumpe 4 kW', 1.000, 8000.00, 0.00, 8000.00, NULL, 1);
INSERT INTO ord_line (line_id, ord_no, item_no, descr, qty, unit_price, disc_pct, line_amt, dlv_dt, rev_no)
VALUES (4, 'SO-3001', 'ITM-30', 'Verdichter', 1.000, 8421.04, 5.00, 7999.99, '2027-01-10', 1);

-- prices per currency of the items sold (what a new line costs unless given)
INSERT INTO item_price (item_no, curr, price) VALUES ('ITM-10', 'NOK', 150.00);
INSERT INTO item_price (item_no, curr, price) VALUES ('ITM-11', 'NOK', 160.00);
INSERT INTO item_price (item_no, curr, price) VALUES ('ITM-20', 'NOK', 8000.00);
INSERT INTO item_price (item_no, curr, price) VALUES ('ITM-30', 'EUR', 8421.04);
INSERT INTO item_price (item_no, curr, price) VALUES ('ITM-10', 'EUR', 13.50);

-- invoices of C-1001 (NOK): paid, partly paid, open, a credit note of the open one,
-- a draft, a cancelled one; C-1002 is invoiced in EUR
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9001', 'C-1001', 'SO-2004', 'P-77', '2026-09-10', '2026-10-10', 50000.00, 40000.00, 0.00, 'NOK', 70);
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9002', 'C-1001', NULL, 'P-77', '2026-10-01', '2026-10-31', 20000.00, 16000.00, 15000.00, 'NOK', 30);
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9003', 'C-1001', NULL, NULL, '2026-10-20', '2026-11-19', 1250.00, 1000.00, 1250.00, 'NOK', 20);
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9004', 'C-1001', NULL, NULL, '2026-10-25', '2026-11-24', -1250.00, -1000.00, -1250.00, 'NOK', 20);
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9005', 'C-1001', 'SO-2003', NULL, '2026-11-30', NULL, 30000.00, 24000.00, 30000.00, 'NOK', 10);
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9006', 'C-1001', NULL, NULL, '2026-07-01', '2026-07-31', 999.00, 799.20, 0.00, 'NOK', 90);
INSERT INTO inv_hdr (inv_no, cust_no, ord_no, proj_no, inv_dt, due_dt, gross_amt, net_amt, open_amt, curr, inv_stat)
VALUES ('I-9101', 'C-1002', NULL, 'P-80', '2026-11-10', '2026-11-24', 1190.00, 1000.00, 1190.00, 'EUR', 20);

INSERT INTO po_hdr (po_no, supp_no, po_stat, po_dt, exp_dt, total, curr)
VALUES ('PO-401', 'S-501', 10, '2026-11-01', '2026-12-20', 45000.00, 'NOK');
INSERT INTO po_hdr (po_no, supp_no, po_stat, po_dt, exp_dt, total, curr)
VALUES ('PO-402', 'S-501', 50, '2026-09-01', '2026-09-30', 12000.00, 'NOK');
INSERT INTO po_hdr (po_no, supp_no, po_stat, po_dt, exp_dt, total, curr)
VALUES ('PO-403', 'S-502', 90, '2026-10-05', NULL, 3000.00, 'SEK');

INSERT INTO ap_inv (ap_no, supp_no, inv_dt, due_dt, total, open_amt, curr, ap_stat)
VALUES ('AP-71', 'S-501', '2026-10-01', '2026-10-31', 12000.00, 0.00, 'NOK', 70);
INSERT INTO ap_inv (ap_no, supp_no, inv_dt, due_dt, total, open_amt, curr, ap_stat)
VALUES ('AP-72', 'S-501', '2026-11-15', '2026-12-15', 45000.00, 45000.00, 'NOK', 20);
