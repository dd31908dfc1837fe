-- The `support` database of the multi-database tests, on PostgreSQL 18 (see
-- fixture-sales.sql). Its customers.email is allowed (SUPPORTMARK-email must come back);
-- customers.ssn is denied server-wide (SUPPORTMARK-ssn must not).
CREATE ROLE mdb_reader LOGIN;
CREATE TABLE origin (name text NOT NULL);
INSERT INTO origin VALUES ('support');
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, ssn text);
COMMENT ON TABLE customers IS 'customers who asked for help';
INSERT INTO customers VALUES (1, 'Grace', 'grace.SUPPORTMARK-email@example.org', 'SUPPORTMARK-ssn-1');
CREATE TABLE tickets (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers (id),
  subject text NOT NULL);
COMMENT ON TABLE tickets IS 'one row per request for help';
INSERT INTO tickets SELECT n, 1, 'ticket ' || n FROM generate_series(1, 12) n;
CREATE SCHEMA internal;
CREATE TABLE internal.notes (id integer, note text);
INSERT INTO internal.notes VALUES (1, 'support internal note');
CREATE SCHEMA kb;
CREATE TABLE kb.articles (id integer PRIMARY KEY, title text);
INSERT INTO kb.articles VALUES (1, 'How to reset a password');
GRANT USAGE ON SCHEMA internal, kb TO mdb_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public, internal, kb TO mdb_reader;
ANALYZE;
