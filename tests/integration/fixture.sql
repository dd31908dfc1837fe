-- The integration tests' database: loaded by tests/integration/run as the superuser
-- `postgres` into a fresh database. Small on purpose (the largest table has 50,000 rows).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- Roles: a read-only one (with a password, so a DSN can carry one) and a writer.
CREATE ROLE pgsafe_reader LOGIN PASSWORD 'Rd-pw-8f3k2-never-shown';
CREATE ROLE pgsafe_writer LOGIN PASSWORD 'Wr-pw-5j9q1-never-shown';

COMMENT ON SCHEMA public IS 'the shop';

CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customers IS 'people who buy things';
COMMENT ON COLUMN customers.email IS 'contact address, may be missing';

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  total numeric(12,2) NOT NULL,
  status text NOT NULL DEFAULT 'open',
  placed_on date NOT NULL
);
COMMENT ON TABLE orders IS 'one row per order';
COMMENT ON COLUMN orders.total IS 'in euros, VAT included';
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders (id),
  line integer NOT NULL,
  product text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, line)
);

INSERT INTO customers (id, name, email, created_at) VALUES
  (1, 'alice', 'alice@example.org', '2024-01-02 03:04:05+00'),
  (2, 'bob', NULL, '2024-02-03 04:05:06+00'),
  (3, 'carol', 'carol@example.org', '2024-03-04 05:06:07+00');
INSERT INTO orders (customer_id, total, status, placed_on) VALUES
  (1, 10.50, 'paid', '2024-05-01'),
  (1, 20.25, 'paid', '2024-05-02'),
  (2, 99.99, 'open', '2024-05-02'),
  (3, 5.00, 'cancelled', '2024-05-03');
INSERT INTO order_items VALUES
  (1, 1, 'apple', 3), (1, 2, 'pear', 1), (2, 1, 'plum', 10), (3, 1, 'fig', 2);

CREATE VIEW customer_totals AS
  SELECT c.id, c.name, sum(o.total) AS total
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name;
COMMENT ON VIEW customer_totals IS 'spend per customer';

CREATE MATERIALIZED VIEW daily_sales AS
  SELECT placed_on, count(*) AS orders, sum(total) AS total FROM orders GROUP BY placed_on;

-- A partitioned table: the parent is listed, the partitions are not.
CREATE TABLE events (
  id integer NOT NULL,
  happened date NOT NULL,
  kind text NOT NULL
) PARTITION BY RANGE (happened);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events VALUES (1, '2024-06-01', 'signup'), (2, '2025-06-01', 'login'), (3, '2025-07-01', 'login');

-- Typed values: one row per case, so a test can pick the row it means.
CREATE TABLE typed_values (
  id integer PRIMARY KEY,
  b boolean,
  i2 smallint,
  i4 integer,
  i8 bigint,
  n numeric,
  f4 real,
  f8 double precision,
  j json,
  jb jsonb,
  t text,
  d date,
  arr integer[],
  o oid
);
INSERT INTO typed_values VALUES
  (1, true, 32767, -2147483648, 9007199254740991, '12345678901234567890.123456789', 1.5, 0.25,
   '{"a": [1, 2, {"b": null}], "s": "x"}', '{"k": true, "n": 1.5}', 'plain', '2024-02-29', '{1,2,3}', 42),
  (2, false, -1, 0, 9007199254740993, '-0.000000000000000000001', 'Infinity', 'NaN',
   '[]', '"just a string"', '', '1999-12-31', '{}', 0),
  (3, NULL, NULL, NULL, -9223372036854775808, NULL, '-Infinity', '-Infinity',
   NULL, NULL, NULL, NULL, NULL, NULL),
  (4, true, 0, 7, -42, '0', 0, 'Infinity', 'null', 'null', E'tab\there\nnewline \\ backslash', '2000-01-01', '{NULL,5}', 4294967295);

-- 50,000 numbers, analyzed, for truncation and row estimates.
CREATE TABLE numbers (n integer PRIMARY KEY, label text NOT NULL);
INSERT INTO numbers SELECT g, 'n' || g FROM generate_series(1, 50000) g;
ANALYZE numbers;

-- Written to only by the SECURITY DEFINER function (which must never run through pgsafe).
CREATE TABLE audit_trail (id serial PRIMARY KEY, note text NOT NULL);
INSERT INTO audit_trail (note) VALUES ('seed 1'), ('seed 2');

-- User functions: a STABLE one the guard should allow through the live catalog, and a
-- VOLATILE SECURITY DEFINER one that writes.
CREATE FUNCTION discounted(price numeric, pct integer) RETURNS numeric
  LANGUAGE sql STABLE AS $$ SELECT round(price * (100 - pct) / 100, 2) $$;
CREATE FUNCTION log_note(note text) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
BEGIN
  INSERT INTO audit_trail (note) VALUES (note);
  RETURN 1;
END $$;
-- A user operator on a volatile function (that also writes).
CREATE FUNCTION noisy_eq(a integer, b integer) RETURNS boolean
  LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  INSERT INTO audit_trail (note) VALUES ('noisy_eq ' || a || ' ' || b);
  RETURN a = b;
END $$;
CREATE OPERATOR <~> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = noisy_eq);

-- A second visible schema with a comment and exactly one table.
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS 'derived figures';
CREATE TABLE analytics.kpis (name text PRIMARY KEY, value numeric NOT NULL);
COMMENT ON TABLE analytics.kpis IS 'key performance indicators';
INSERT INTO analytics.kpis VALUES ('revenue', 135.74), ('orders', 4);

-- A table name found in two visible schemas (analytics.kpis and archive.kpis).
CREATE SCHEMA archive;
CREATE TABLE archive.kpis (name text, value numeric, year integer);

-- Many tables, so resources/list needs more than one page (100 per page).
CREATE SCHEMA wide;
DO $$
BEGIN
  FOR i IN 1..120 LOOP
    EXECUTE format('CREATE TABLE wide.t%s (id integer PRIMARY KEY, v text)', lpad(i::text, 3, '0'));
  END LOOP;
END $$;

-- A schema the reader may not use.
CREATE SCHEMA secret;
CREATE TABLE secret.keys (id integer PRIMARY KEY, k text);
INSERT INTO secret.keys VALUES (1, 'hunter2');

-- Privileges: the reader may only read; the writer may also write.
REVOKE ALL ON SCHEMA secret FROM PUBLIC;
GRANT USAGE ON SCHEMA public, analytics, archive, wide TO pgsafe_reader, pgsafe_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA public, analytics, archive, wide TO pgsafe_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, analytics, archive, wide TO pgsafe_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO pgsafe_writer;
