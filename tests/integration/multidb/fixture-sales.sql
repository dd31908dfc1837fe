-- The `sales` database of the multi-database tests, on PostgreSQL 15. Its tables differ from
-- `support`'s (fixture-support.sql) except `customers` and `origin`, which both have, with the
-- same column names: `sales` denies customers.email, `support` allows it. Every value a
-- policy denies holds SALESMARK, so no answer may carry it.
CREATE ROLE mdb_reader LOGIN;
CREATE TABLE origin (name text NOT NULL);
INSERT INTO origin VALUES ('sales');
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, ssn text);
COMMENT ON TABLE customers IS 'customers who bought';
INSERT INTO customers VALUES
  (1, 'Ada', 'ada.SALESMARK-email@example.org', 'SALESMARK-ssn-1'),
  (2, 'Linus', 'linus.SALESMARK-email@example.org', 'SALESMARK-ssn-2');
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id),
  total numeric(10, 2) NOT NULL);
COMMENT ON TABLE orders IS 'one row per sale';
INSERT INTO orders VALUES (1, 1, 10.50), (2, 1, 20.00), (3, 2, 7.25), (4, 2, 1.00), (5, 1, 3.00);
CREATE SCHEMA internal;
CREATE TABLE internal.ledger (id integer, note text);
INSERT INTO internal.ledger VALUES (1, 'SALESMARK-ledger');
GRANT USAGE ON SCHEMA internal TO mdb_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public, internal TO mdb_reader;
ANALYZE;
