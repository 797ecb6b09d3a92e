-- A "legacy ERP" database as integrators meet it: short column names, numeric status
-- codes of its own, amounts as DECIMAL with a currency column. Portable DDL: runs unchanged
-- on PostgreSQL, MariaDB/MySQL and SQLite. The SQL spec (spec.yaml) maps it onto Keylink.
--
-- Status codes of this ERP:
--   ord_hdr.ord_stat  10 draft, 20 quotation, 30 confirmed, 40 in production,
--                     70 invoiced, 90 cancelled (anything else: Keylink answers UNKNOWN)
--   inv_hdr.inv_stat  10 draft, 20 posted, 30 partly paid, 70 paid, 90 cancelled
--   proj.phase        1 active, 5 on hold, 9 closed
--   po_hdr.po_stat    10 ordered, 50 received, 90 cancelled
--   ap_inv.ap_stat    20 posted, 70 paid
--
-- Versions: ord_hdr.rev_no and ord_line.rev_no count the changes of an order and of a
-- line (every write statement of spec.yaml increments them); only a draft order (10)
-- accepts line edits. An order's net_amt is the sum of its lines' line_amt, its gross_amt
-- that plus tax_pct percent; item_price holds each item's price per currency.

CREATE TABLE cust (
    cust_no     VARCHAR(20)   NOT NULL PRIMARY KEY,
    cust_name   VARCHAR(80)   NOT NULL,
    curr        CHAR(3)       NOT NULL,
    credit_lim  DECIMAL(14,2),
    country     CHAR(2),
    vat_no      VARCHAR(20),
    disc_pct    DECIMAL(5,2),
    pay_days    INTEGER
);

CREATE TABLE supp (
    supp_no     VARCHAR(20)   NOT NULL PRIMARY KEY,
    supp_name   VARCHAR(80)   NOT NULL,
    curr        CHAR(3),
    country     CHAR(2)
);

CREATE TABLE proj (
    proj_no     VARCHAR(20)   NOT NULL PRIMARY KEY,
    cust_no     VARCHAR(20),
    proj_name   VARCHAR(80)   NOT NULL,
    budget      DECIMAL(14,2),
    phase       INTEGER       NOT NULL,
    start_dt    DATE
);

CREATE TABLE ord_hdr (
    ord_no      VARCHAR(20)   NOT NULL PRIMARY KEY,
    cust_no     VARCHAR(20)   NOT NULL,
    ord_stat    INTEGER       NOT NULL,
    ord_dt      DATE          NOT NULL,
    net_amt     DECIMAL(14,2) NOT NULL,
    gross_amt   DECIMAL(14,2) NOT NULL,
    curr        CHAR(3)       NOT NULL,
    line_cnt    INTEGER       NOT NULL,
    rev_no      INTEGER       NOT NULL,
    tax_pct     DECIMAL(5,2)  DEFAULT 25.00 NOT NULL
);

CREATE TABLE ord_line (
    line_id     INTEGER       NOT NULL PRIMARY KEY,
    ord_no      VARCHAR(20)   NOT NULL,
    item_no     VARCHAR(20),
    descr       VARCHAR(200),
    qty         DECIMAL(12,3) NOT NULL,
    unit_price  DECIMAL(14,2) NOT NULL,
    disc_pct    DECIMAL(5,2)  NOT NULL,
    line_amt    DECIMAL(14,2) NOT NULL,
    dlv_dt      DATE,
    rev_no      INTEGER       NOT NULL
);

CREATE TABLE item_price (
    item_no     VARCHAR(20)   NOT NULL,
    curr        CHAR(3)       NOT NULL,
    price       DECIMAL(14,2) NOT NULL,
    PRIMARY KEY (item_no, curr)
);

CREATE TABLE inv_hdr (
    inv_no      VARCHAR(20)   NOT NULL PRIMARY KEY,
    cust_no     VARCHAR(20)   NOT NULL,
    ord_no      VARCHAR(20),
    proj_no     VARCHAR(20),
    inv_dt      DATE          NOT NULL,
    due_dt      DATE,
    gross_amt   DECIMAL(14,2) NOT NULL,
    net_amt     DECIMAL(14,2) NOT NULL,
    open_amt    DECIMAL(14,2) NOT NULL,
    curr        CHAR(3)       NOT NULL,
    inv_stat    INTEGER       NOT NULL
);

CREATE TABLE po_hdr (
    po_no       VARCHAR(20)   NOT NULL PRIMARY KEY,
    supp_no     VARCHAR(20)   NOT NULL,
    po_stat     INTEGER       NOT NULL,
    po_dt       DATE          NOT NULL,
    exp_dt      DATE,
    total       DECIMAL(14,2) NOT NULL,
    curr        CHAR(3)       NOT NULL
);

CREATE TABLE ap_inv (
    ap_no       VARCHAR(20)   NOT NULL PRIMARY KEY,
    supp_no     VARCHAR(20)   NOT NULL,
    inv_dt      DATE          NOT NULL,
    due_dt      DATE          NOT NULL,
    total       DECIMAL(14,2) NOT NULL,
    open_amt    DECIMAL(14,2) NOT NULL,
    curr        CHAR(3)       NOT NULL,
    ap_stat     INTEGER       NOT NULL
);

CREATE INDEX ord_hdr_cust ON ord_hdr (cust_no);
CREATE INDEX ord_line_ord ON ord_line (ord_no);
CREATE INDEX inv_hdr_cust ON inv_hdr (cust_no);
CREATE INDEX inv_hdr_proj ON inv_hdr (proj_no);
CREATE INDEX proj_cust ON proj (cust_no);
CREATE INDEX po_hdr_supp ON po_hdr (supp_no);
CREATE INDEX ap_inv_supp ON ap_inv (supp_no);
